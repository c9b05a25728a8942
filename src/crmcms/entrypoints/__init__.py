"""Entry points above the layers: the ``crmcms`` command line and the demo."""
