"""Canned responses: saved replies agents insert into a reply, global or per team, with placeholders
filled from the conversation at hand."""
