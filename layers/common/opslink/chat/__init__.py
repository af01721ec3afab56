"""Deciding from chat (Slack): signed requests in, decisions through approvals.py."""
