"""The CDK seam: which engine runs (``engine.py``), the only modules that import the CDK
(``core.py``: cdktf core and constructs; ``aws.py``: the provider bindings), and the lazy loader of
the bindings. Importing this package alone loads nothing of the CDK."""
