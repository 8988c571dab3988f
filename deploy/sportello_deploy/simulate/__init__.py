"""A routing simulation on real traffic: real customer-care threads replayed on a simulated clock
through a routing policy, with a simulated team of agents that behaves the same for every policy.

``traffic`` (conversations from twcs) -> ``calibration`` (the team's numbers from real agents' signed
replies) -> ``pool`` (agents' shifts, breaks, handling times) -> ``engine`` (the discrete-event run
against a ``protocol.Router``) -> ``metrics``; ``run`` is the CLI (``python -m sportello_deploy.simulate``).
"""
