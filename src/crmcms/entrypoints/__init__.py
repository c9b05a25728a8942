"""Entry points above the layers: the ``crmcms`` command line, the demo and the facade for
external systems (:class:`crmcms.entrypoints.integration.Integration`)."""
