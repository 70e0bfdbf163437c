"""Sphinx configuration of the sknn_train documentation.

Build (from the repository root, nothing is downloaded)::

    python -m sphinx -W --keep-going -b html docs docs/_build/html

or ``bash docs/build.sh``. The gallery examples in ``docs/examples`` are run
during the build (sphinx-gallery) and their figures are used by the user guide.
"""

import os
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display during the build

# Document the package of this checkout, also when it is not installed.
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import sknn_train  # noqa: E402

# -- Project -----------------------------------------------------------------
project = "sknn_train"
author = "sknn_train developers"
copyright = "sknn_train developers, BSD-3-Clause"
release = sknn_train.__version__
version = ".".join(release.split(".")[:2])

# -- General -----------------------------------------------------------------
extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.intersphinx",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]

templates_path = ["_templates"]
exclude_patterns = [
    "_build",
    "examples",  # the gallery's sources; sphinx-gallery renders them into auto_examples
    "**.ipynb_checkpoints",
    "Thumbs.db",
    ".DS_Store",
]
source_suffix = {".rst": "restructuredtext"}
root_doc = "index"
# `x` in docstrings (scikit-learn's style) renders as code.
default_role = "literal"
pygments_style = "sphinx"

# -- autodoc / autosummary / numpydoc ----------------------------------------
autosummary_generate = True
autodoc_typehints = "none"
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = True
numpydoc_xref_param_type = False

# -- intersphinx: no network access at build time, so no inventories ---------
intersphinx_mapping = {}
intersphinx_disabled_reftypes = ["*"]

# -- sphinx-gallery ----------------------------------------------------------
sphinx_gallery_conf = {
    "examples_dirs": "examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": "/plot_",
    "plot_gallery": "True",  # run every example during the build
    "within_subsection_order": "sphinx_gallery.sorting.FileNameSortKey",
    "download_all_examples": False,
    "remove_config_comments": True,
    "abort_on_example_error": False,
    "only_warn_on_example_error": False,
    "image_scrapers": ("matplotlib",),
    "reset_modules": ("matplotlib",),
    "show_memory": False,
    "show_signature": False,
    "line_numbers": False,
    "min_reported_time": 0,
    # the execution-time pages load CSS/JS from CDNs: not written
    "write_computation_times": False,
}

# -- HTML --------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"sknn_train {release}"
html_theme_options = {
    # Nothing that needs the network: no icon links, no version switcher,
    # no analytics, no remote logo.
    "icon_links": [],
    "navbar_end": ["theme-switcher"],
    "navbar_align": "left",
    "header_links_before_dropdown": 6,
    "show_toc_level": 2,
    "navigation_with_keys": False,
    "use_edit_page_button": False,
    "secondary_sidebar_items": ["page-toc"],
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version"],
}
# Pages without sub-pages: no (empty) section navigation on the left.
html_sidebars = {
    page: []
    for page in (
        "index",
        "install",
        "quickstart",
        "migration",
        "anatomy",
        "performance",
        "glossary",
    )
}
html_static_path = []
html_show_sourcelink = False
html_copy_source = False

# The examples use this to save their figures outside the gallery; not wanted here.
os.environ.pop("SKNN_EXAMPLES_SAVE", None)
