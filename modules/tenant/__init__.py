"""SES tenant: a named group of identities and configuration sets with its own reputation.

``props`` has no cdktn import; import the construct from ``modules.tenant.construct``.
"""
