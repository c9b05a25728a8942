"""One HTTP POST with urllib, its failures classified as crmcms delivery errors: the
library's own (:mod:`crmcms.engine.http_post`), which the webhook subscriptions use too."""

from __future__ import annotations

from crmcms.engine.http_post import RETRYABLE, post

__all__ = ["RETRYABLE", "post"]
