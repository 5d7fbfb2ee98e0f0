"""Sphinx configuration of the sklearn_tcm documentation."""

import sklearn_tcm

project = "sklearn_tcm"
author = "sklearn_tcm developers"
release = sklearn_tcm.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]
autosummary_generate = True
numpydoc_show_class_members = False
sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
}
html_theme = "pydata_sphinx_theme"
exclude_patterns = ["_build"]
