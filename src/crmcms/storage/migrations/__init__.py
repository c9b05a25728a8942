"""Alembic migrations of the crmcms schema, shipped inside the package."""
