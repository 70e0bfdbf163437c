"""Docstring pieces shared by both estimators (one source, no drift)."""

import textwrap

from ._kernels.activations import HIDDEN_ACTIVATIONS


def _quoted(names):
    return ", ".join(f"'{name}'" for name in names)


# The activation options and their bullets, from the table of activations.
_ACTIVATION = (
    f"    activation : {{{_quoted(HIDDEN_ACTIVATIONS)}}}, default='relu'\n"
    "        Activation function for the hidden layer.\n\n"
    + "".join(
        textwrap.fill(
            f"- '{name}', {a.doc}", 96, initial_indent=" " * 8, subsequent_indent=" " * 10
        )
        + "\n"
        for name, a in HIDDEN_ACTIVATIONS.items()
    )
    + "\n"
)
_CAN_DIE = [name for name, a in HIDDEN_ACTIVATIONS.items() if a.can_die]

PARAMETERS = (
    """\
    hidden_layer_sizes : array-like of shape(n_layers - 2,), default=(100,)
        The ith element represents the number of neurons in the ith
        hidden layer.

"""
    + _ACTIVATION
    + """\
    solver : {'lbfgs', 'sgd', 'adam'}, default='adam'
        The solver for weight optimization.

        - 'lbfgs' is scipy's L-BFGS-B on the compiled full-batch loss and gradient.
        - 'sgd' refers to stochastic gradient descent.
        - 'adam' refers to the stochastic gradient-based optimizer of Kingma and Ba.

    alpha : float, default=0.0001
        Strength of the L2 regularization term. As in scikit-learn, the penalty
        of one update is ``alpha / (2 S) * sum_l ||W_l||_F^2`` where ``S`` is the
        sum of the sample weights in that update (the batch size without
        sample weights, ``n_samples`` for 'lbfgs'); biases are not penalised.
        The last, smaller batch of an epoch is therefore regularised harder.

    batch_size : int, default='auto'
        Size of minibatches for stochastic optimizers.
        If the solver is 'lbfgs', the estimator will not use minibatch.
        When set to "auto", `batch_size=min(200, n_samples)` (the Tabular
        estimators: `min(64, n_samples)`). A size larger than the training
        rows is clipped to them with a warning.

    learning_rate : {'constant', 'invscaling', 'adaptive'}, default='constant'
        Learning rate schedule for weight updates.

        - 'constant' is a constant learning rate given by 'learning_rate_init'.
        - 'invscaling' gradually decreases the learning rate at each
          time step 't' using an inverse scaling exponent of 'power_t':
          ``effective_learning_rate = learning_rate_init / pow(t, power_t)``.
        - 'adaptive' keeps the learning rate constant to 'learning_rate_init'
          as long as training loss keeps decreasing. Each time two consecutive
          epochs fail to decrease training loss by at least tol, or fail to
          increase validation score by at least tol if 'early_stopping' is on,
          the current learning rate is divided by 5.

        Only used when ``solver='sgd'``.

    learning_rate_init : float, default=0.001
        The initial learning rate used. Only used when solver='sgd' or 'adam'.

    power_t : float, default=0.5
        The exponent for inverse scaling learning rate. Only used when
        solver='sgd' and learning_rate='invscaling'.

    max_iter : int, default=200
        Maximum number of iterations. For stochastic solvers ('sgd', 'adam')
        this is the number of epochs; for 'lbfgs' the number of L-BFGS
        iterations.

    shuffle : bool, default=True
        Whether to shuffle samples in each iteration. Only used when
        solver='sgd' or 'adam'.

    random_state : int, RandomState instance, default=None
        Determines random number generation for weights and bias
        initialization, train-test split if early stopping is used, and batch
        sampling when solver='sgd' or 'adam'. Pass an int for reproducible
        results across multiple function calls.
        See :term:`Glossary <random_state>`.

    tol : float, default=1e-4
        Tolerance for the optimization. When the loss or score is not improving
        by at least ``tol`` for ``n_iter_no_change`` consecutive iterations,
        unless ``learning_rate`` is set to 'adaptive', convergence is
        considered to be reached and training stops.

    verbose : bool, default=False
        Whether to print progress messages to stdout.

    warm_start : bool, default=False
        When set to True, reuse the solution of the previous call to fit as
        initialization, otherwise, just erase the previous solution.
        See :term:`the Glossary <warm_start>`.

    momentum : float, default=0.9
        Momentum for gradient descent update. Should be between 0 and 1. Only
        used when solver='sgd'.

    nesterovs_momentum : bool, default=True
        Whether to use Nesterov's momentum. Only used when solver='sgd' and
        momentum > 0.

    early_stopping : bool, default=False
        Whether to use early stopping to terminate training when validation
        score is not improving. If set to True, it will automatically set
        aside ``validation_fraction`` of training data as validation and
        terminate training when validation score is not improving by at least
        ``tol`` for ``n_iter_no_change`` consecutive epochs; the weights of the
        best epoch are restored. Only effective when solver='sgd' or 'adam'.

    validation_fraction : float, default=0.1
        The proportion of training data to set aside as validation set for
        early stopping. Must be between 0 and 1.
        Only used if early_stopping is True.

    beta_1 : float, default=0.9
        Exponential decay rate for estimates of first moment vector in adam,
        should be in [0, 1). Only used when solver='adam'.

    beta_2 : float, default=0.999
        Exponential decay rate for estimates of second moment vector in adam,
        should be in [0, 1). Only used when solver='adam'.

    epsilon : float, default=1e-8
        Value for numerical stability in adam. Only used when solver='adam'.

    n_iter_no_change : int, default=10
        Maximum number of epochs to not meet ``tol`` improvement.
        Only effective when solver='sgd' or 'adam'. The Tabular estimators
        also take 'auto': 10 with ``early_stopping=True``, and without it no
        stop on the training loss (a learning-rate schedule runs its whole
        budget).

    max_fun : int, default=15000
        Only used when solver='lbfgs'. Maximum number of loss function calls.

    dropout : float or array-like of shape (n_layers - 2,), default=0.0
        Inverted dropout: each hidden unit's output is dropped with this
        probability, independently per sample and per update, and the kept
        outputs are scaled by ``1 / (1 - p)``; backpropagation uses the same
        mask and prediction uses the whole network. One value for every hidden
        layer or one per hidden layer. Masks come from a counter-based generator
        seeded from ``random_state`` (the probability acts as a multiple of
        2**-16). Only used when solver='sgd' or 'adam'; 'lbfgs' refuses it.

    input_dropout : float, default=0.0
        Dropout probability of each input feature, as ``dropout``.

    residual : bool, default=False
        Turn consecutive hidden layers into residual blocks. Hidden layer 1
        stays a plain stem ``h1 = act(X W1 + b1)``; hidden layers (2, 3),
        (4, 5), ... each form a block ``h_out = h_in + act(h_in W + b) W' + b'``
        with no activation after the sum; a trailing unpaired layer stays
        plain. A block must output as many units as it receives:
        ``hidden_layer_sizes[2k] == hidden_layer_sizes[2k - 2]``, for example
        ``(64, 32, 64, 32, 64)``. Parameter shapes do not change.

    max_grad_norm : float, default=None
        Clip the global norm of every update's gradient (all weights and biases,
        L2 term included) to at most this value, keeping its direction:
        ``g <- min(1, max_grad_norm / ||g||) g``, before the optimizer step;
        each member of an ensemble by its own norm, the members of
        ``ensemble='batch'`` by one factor from the root mean square of their
        norms (the shared weights stay equal). Only used when solver='sgd' or
        'adam'.

    weight_init : {'glorot_uniform', 'he_uniform', 'he_normal', 'lecun_normal'}, \
            default='glorot_uniform'
        Initialisation of the weights. 'glorot_uniform' is scikit-learn's
        scheme (weights and biases uniform in +-sqrt(6 / (fan_in + fan_out)),
        sqrt(2) for the logistic activation); the others draw the weights with
        their standard variance (2 / fan_in for He, 1 / fan_in for LeCun) and set
        the biases to zero.

    validation_metric : str or callable, default='score'
        What the held-out rows are judged by, for early stopping,
        ``restore_best_weights`` and ``n_init``: 'score' (accuracy or R², as
        scikit-learn), 'loss' (the validation loss, lower is better), any
        scikit-learn scorer name ('neg_log_loss', 'roc_auc',
        'balanced_accuracy', ...) or a scorer callable ``scorer(estimator, X,
        y)``, higher is better. Only used with early_stopping=True or
        restore_best_weights=True.

    n_init : int, default=1
        Number of networks trained from different initialisations drawn one
        after another from ``random_state``; the best is kept (by best
        validation score or loss with early stopping, else by final training
        loss). Only used by ``fit`` on a new network.

    lr_schedule : {'cosine', 'linear', 'coslog4'} or None, default=None
        Learning-rate schedule of 'sgd' and 'adam' over the whole fit: the rate
        of an update is ``learning_rate_init * f(p)``, ``p`` the fraction of
        the fit's updates (``max_iter`` epochs) already taken. 'cosine':
        ``(1 + cos(pi p)) / 2``; 'linear': ``1 - p``; 'coslog4': four cosine
        cycles spaced logarithmically, ``(1 - cos(2 pi log2(1 + 15 p))) / 2``
        (RealMLP's). Adam's bias correction applies on top. None keeps
        ``learning_rate``'s behaviour; a schedule needs
        ``learning_rate='constant'``. A ``partial_fit`` call counts as one of
        ``max_iter`` epochs; ``p`` stops at 1. With a schedule, reaching
        ``max_iter`` is the plan: no ``ConvergenceWarning``.

    warmup_fraction : float, default=0.0
        Fraction of the fit's updates over which the rate grows linearly from
        0 (``min(1, p / warmup_fraction)`` times the schedule's rate). 0: no
        warm-up. Must be in [0, 1).

    weight_decay : float, default=0.0
        Decoupled weight decay (AdamW, Loshchilov and Hutter 2019): before
        each update every weight matrix (not the biases) is multiplied by
        ``1 - lr_t * weight_decay``, ``lr_t`` the scheduled rate without
        Adam's bias correction. Independent of ``alpha`` (scikit-learn's L2
        term of the loss).

    restore_best_weights : bool, default=False
        Hold out ``validation_fraction`` of the training data (as early
        stopping does), score it after every epoch with ``validation_metric``
        and, at the end, restore the weights of the best epoch. Training runs
        on to ``max_iter`` (or until the training loss stalls, or
        ``early_stopping`` stops it). 'sgd' and 'adam' only. Not used by
        ``partial_fit``, whose calls see other rows each: nothing is held out.

    output_init : {'weight_init', 'zeros'}, default='weight_init'
        The output layer's initial weights and biases: drawn by
        ``weight_init`` like the other layers, or 'zeros' (RealMLP's choice:
        the network starts from a constant prediction and every hidden layer
        still learns, since the output weights move at the first step).

    input_scaling : bool, default=False
        Learn one factor per input feature (initialised to 1, fitted attribute
        ``input_scale_``): the first layer sees ``X * input_scale_``, a
        diagonal layer that lets the network weigh its features (RealMLP's
        "front scale"). Trained by the same optimizer at
        6 times the learning rate (RealMLP's factor: a factor is one
        parameter against a row of the first weight matrix), not penalised by
        ``alpha`` or ``weight_decay``. Sparse input stays sparse.

    n_ensemble : int, default=1
        Train this many networks together, on the same minibatches (on
        several cores: ``n_jobs``), each from its own initialisation (drawn one
        after the other from ``random_state``, so the first starts from the
        weights of ``n_ensemble=1``) with its own dropout masks and optimizer
        state. Each member minimises its own loss (the objective is the mean
        of the members' losses; a member ends as it would alone on the same
        batches). Predictions average the members' outputs (probabilities
        for a classifier); the validation of ``early_stopping`` and
        ``restore_best_weights`` scores that average. With ``n_ensemble > 1``
        the fitted ``coefs_[i]``, ``intercepts_[i]`` and ``input_scale_``
        gain a leading member axis: shapes ``(n_ensemble, fan_in,
        fan_out)``, ``(n_ensemble, fan_out)`` and ``(n_ensemble,
        n_features)``. L-BFGS fits the members one after the other.

    ensemble : {'independent', 'batch'}, default='independent'
        How the ``n_ensemble`` members relate. 'independent': separate
        networks. 'batch' (TabM-mini, Gorishniy et al. 2025): the members
        share every layer but the output layer and differ by their own
        output layer and a multiplicative adapter on the input, initialised
        to random signs as TabM does and held in ``input_scale_`` (trained at
        the weights' rate, or at ``input_scaling``'s 6 times with
        ``input_scaling=True``); K members then hold about one network's
        parameters. The shared weights follow the mean of the members'
        gradients, each member's own parameters its loss's. Needs 'adam' or
        'sgd'; ``max_grad_norm`` clips every member by one factor. Nothing
        changes with ``n_ensemble=1``.

    n_jobs : int, default=None
        Threads an ensemble's independent members train on, each member's
        epoch on one of them (they meet once an epoch, for the validation
        score; each takes one BLAS thread meanwhile). None: the cores
        scikit-learn's OpenMP estimators use (``HistGradientBoosting*``:
        ``OMP_NUM_THREADS``, threadpoolctl's ``openmp`` limit and the CPU
        quota, which joblib's process workers set to their share of the
        cores), when ``fit`` is called from the main thread; 1 when it is
        called from another thread (joblib's threading backend, dask's
        threaded workers: the caller already runs fits beside it). A
        positive number: that many threads; -1: all cores, -2 all but one.
        Never more threads than members; epochs of fewer than about 2
        million multiply-adds a member stay on the calling thread. Results
        are identical whatever the number. A single network and
        ``ensemble='batch'`` (whose members meet at every step) use the
        calling thread. L-BFGS members run as separate fits, in parallel
        the same way (one after the other with callbacks).

    compute_dtype : {None, 'float32', 'float64'}, default=None
        The dtype the network is trained and predicts in. None:
        scikit-learn's rule, float32 input in float32 and any other in
        float64. 'float32' on float64 input computes as torch does by
        default: about half the memory traffic and twice the SIMD width of
        float64, at float32's precision (a relative 1e-7 per operation;
        a fit's results then differ from the float64 fit's beyond
        rounding). The fitted ``coefs_``, ``intercepts_`` and the other
        parameter arrays, and the outputs of ``predict_proba`` and of a
        regressor's ``predict``, have this dtype whatever the dtype of X
        (X is converted); a ``warm_start`` fit or ``partial_fit`` keeps the
        dtype of the model it continues. Export to ONNX with a float32
        sample (``X[:1].astype("float32")``) for the model's own arithmetic.

    categorical_features : {None, 'from_dtype'}, array-like of bool, int or str, default=None
        The categorical columns of X (HistGradientBoosting's name and forms):
        None (every column numeric, scikit-learn's behaviour), 'from_dtype'
        (category, object, string and bool columns of a DataFrame; of a numpy
        object array, the columns whose values are all strings or bools), a
        boolean mask, integer indices or column names. A column's categories
        are its distinct non-missing training values; one more slot takes
        every unseen and every missing value (NaN, None, ``pd.NA``). Two
        categories and no missing value in training: one input, -1 / +1 (0
        for the slot). Else ``k + 1 <= max_onehot_categories`` (slot
        included): one-hot, the slot the all-zero vector; else a learnt
        embedding of ``categorical_embedding_dim`` values per category. Both
        are row lookups inside the compiled epoch, never a one-hot matrix.
        Sparse X has no categorical columns (naming one is an error). See
        "Your table as it is" in the user guide.

    max_onehot_categories : int, default=9
        The most inputs a one-hot column may take, its slot counted (RealMLP's
        count): columns with more categories are embedded.

    categorical_embedding_dim : int, default=8
        The length of a categorical embedding's vectors. They start at
        N(0, 1) draws (the slot's at zero), are trained at the weights' rate
        and are not penalised by ``alpha`` or ``weight_decay``.

    handle_missing : {'error', 'indicator'}, default='error'
        Missing numeric values: 'error' raises scikit-learn's NaN error;
        'indicator' replaces them with the column's training median and
        gives every numeric column that had a missing value in training a
        0 / 1 input saying so (``SimpleImputer(add_indicator=True)``'s
        meaning). A missing value at predict time in a column without one in
        training takes the median alone.

    numeric_scaling : {None, 'standard', 'smooth_clip', 'quantile'}, default=None
        Scaling of the numeric columns inside the estimator, fitted on the
        rows ``fit`` gets: 'standard' ``(x - mean) / std``; 'smooth_clip'
        :class:`~sknn_train.preprocessing.SmoothClipScaler`'s transform;
        'quantile' each column's training quantiles (at most 1,000) mapped
        to standard normal scores, linearly between them, clipped at the
        ends (the rank-Gauss transform). Missing indicators and categorical
        inputs are not scaled. Sparse X is scaled without centring (divided
        by each column's standard deviation, whichever scaling is asked
        for), so that it stays sparse.

    numeric_embedding : {None, 'pbld', 'plr'}, default=None
        Feed each scaled numeric feature to the first layer through a learnt
        embedding instead of as itself (SPEC 5.5): 'pbld' (RealMLP-TD's:
        ``v = cos(2 pi w x + b) V + c`` with 16 frequencies ``w`` drawn
        N(0, ``embedding_sigma``\\ :sup:`2`), ``b`` U[-pi, pi], ``V`` (16 x 3)
        and ``c`` U[-1/4, 1/4]; the embedding ``[v, x]``, 4 values), or 'plr'
        (Gorishniy et al. 2022: ``ReLU([cos(2 pi w x), sin(2 pi w x)] V + c)``
        with 8 frequencies, ``V`` 16 x 8, 8 values). Missing indicators and
        categorical inputs are not embedded. The parameters (fitted attribute
        ``numeric_embeddings_``, every feature's flat, a leading member axis for
        an ensemble) train with the network at a tenth of its learning rate
        (RealMLP's factor), without ``alpha`` or ``weight_decay``. Sparse X is
        an error.

    embedding_sigma : float, default=0.1
        The standard deviation of the numeric embeddings' initial frequencies.
"""
)

ATTRIBUTES = (
    """\
    loss_ : float
        The current loss computed with the loss function.

    best_loss_ : float or None
        The minimum loss reached by the solver throughout fitting.
        If `early_stopping=True`, this attribute is set to `None`. Refer to
        the `best_validation_score_` fitted attribute instead.
        Only accessible when solver='sgd' or 'adam'.

    loss_curve_ : list of shape (`n_iter_`,)
        Loss value evaluated at the end of each training step.
        Only accessible when solver='sgd' or 'adam'.

    validation_scores_ : list of shape (`n_iter_`,) or None
        The score at each iteration on a held-out validation set. Only
        available when rows are held out (``early_stopping=True`` or
        ``restore_best_weights=True``), otherwise the attribute is set to
        `None`. Only accessible when solver='sgd' or 'adam'.

    best_validation_score_ : float or None
        The validation score of the best epoch (with ``validation_metric``
        'score' the highest, otherwise the score of the epoch the metric
        chose). Only available when rows are held out (``early_stopping=True``
        or ``restore_best_weights=True``), otherwise the attribute is set to
        `None`. Only accessible when solver='sgd' or 'adam'.

    t_ : int
        The number of training samples seen by the solver during fitting.

    coefs_ : list of shape (n_layers - 1,)
        The ith element in the list represents the weight matrix corresponding
        to layer i. Each is a view into one flat parameter buffer.

    intercepts_ : list of shape (n_layers - 1,)
        The ith element in the list represents the bias vector corresponding to
        layer i + 1. Each is a view into one flat parameter buffer.

    n_features_in_ : int
        Number of features seen during :term:`fit`.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during :term:`fit`. Defined only when `X`
        has feature names that are all strings.

    n_iter_ : int
        The number of iterations the solver has run.

    n_layers_ : int
        Number of layers.

    n_outputs_ : int
        Number of outputs.

    out_activation_ : str
        Name of the output activation function.

    grad_norm_curve_ : list of shape (`n_iter_`,)
        Mean global gradient norm (before clipping) of the updates of each
        epoch. Only accessible when solver='sgd' or 'adam'.

    layer_grad_norm_curve_ : list of shape (`n_iter_`, n_layers - 1)
        Mean gradient norm of each weight matrix in each epoch: vanishing or
        exploding gradients show layer by layer. Only accessible when
        solver='sgd' or 'adam'.

    clip_fraction_curve_ : list of shape (`n_iter_`,)
        Fraction of the updates of each epoch that ``max_grad_norm`` clipped.
        Only accessible when solver='sgd' or 'adam'.

    validation_loss_curve_ : list of shape (`n_iter_`,) or None
        Validation loss at each epoch when rows are held out
        (``early_stopping=True`` or ``restore_best_weights=True``), else None.

    best_validation_loss_ : float or None
        Validation loss of the best epoch when rows are held out.

    best_epoch_ : int
        The 1-based epoch (position in ``loss_curve_``) whose weights the
        model keeps: the best validation epoch by ``validation_metric`` when
        rows are held out (``early_stopping`` or ``restore_best_weights``),
        otherwise the last epoch (``n_iter_`` for one fit; L-BFGS: its
        ``n_iter_``). :class:`TrainingCurveDisplay` marks it.

    dead_units_ : ndarray of shape (n_layers - 2,)
        Per hidden layer, the fraction of units whose output is zero for every
        training sample at the end of fit ("""
    + " and ".join(f"'{n}'" for n in _CAN_DIE)
    + """;
        zeros for the other activations, whose outputs are never exactly zero).

    init_scores_ : list of shape (n_init,)
        The score of each initialisation that ``n_init`` tried, higher is
        better: the best validation score, or the negated best validation loss
        (``validation_metric='loss'``) or final training loss (no early
        stopping, 'lbfgs'). The fit keeps the run with the highest.
"""
)

NOTES = """\
    The forward and backward passes run in numba-compiled kernels: one compiled
    call per epoch for 'sgd' and 'adam', one per loss evaluation for 'lbfgs'.
    The first fit in a fresh environment compiles them (seconds); later
    processes load them from numba's cache.

    float32 input is trained and predicted in float32 end to end; every other
    dtype is converted to float64. Sparse CSR/CSC input is never densified.

    Differences from scikit-learn (its known bugs, fixed here): the squared
    error of a multi-output regressor is summed over outputs so that the
    reported loss matches the gradient actually used (scikit-learn averages
    the loss but not the gradient, issue 8349); the early-stopping validation
    split is stratified for multiclass targets too; ``MLPRegressor.partial_fit``
    is unavailable for ``solver='lbfgs'`` as for the classifier.
"""


def class_docstring(template):
    """An estimator's docstring: ``template`` with the shared parameters, attributes
    and notes filled in (``sknn_train._class_docs``)."""
    return template.format(params=PARAMETERS, attrs=ATTRIBUTES, notes=NOTES)
