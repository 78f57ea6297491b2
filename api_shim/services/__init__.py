"""Scan, results and system services: the logic behind the routes."""
