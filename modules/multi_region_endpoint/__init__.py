"""SES multi-region endpoint (global endpoint): one EndpointId that sends from two regions.

``props`` has no cdktn import; import the construct from ``modules.multi_region_endpoint.construct``.
"""
