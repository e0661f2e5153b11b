"""SES domain identity: Easy DKIM or BYODKIM, custom MAIL FROM, SPF, DMARC, Route 53 or zone file.

``props`` has no cdktn import (the config layer uses it); import the construct from
``modules.identity.construct``.
"""

from modules.identity.props import Dkim, Dmarc, DnsRecord, MailFrom

__all__ = ["Dkim", "Dmarc", "DnsRecord", "MailFrom"]
