"""The HTTP API (``pip install 'crmcms[http]'``): a Litestar application over the engine.

Litestar is imported here only, so ``import crmcms`` stays light.
"""

from crmcms.http.app import body_limit, create_app

__all__ = ["body_limit", "create_app"]
