"""Workflow engine: registers contacts and appeals and moves them along routes."""
