"""Runnable examples of crmcms definitions."""
