"""Example notification plugins: SMS through an HTTP gateway, and signed webhooks."""
