"""Custom checkov policies for the SES platform, loaded with ``--external-checks-dir``.

checkov ships no checks for ``aws_sesv2_*``; these fill the gap. Run them only with
``--framework terraform_json`` on the synthesized ``cdk.tf.json`` files (see
:mod:`modules.platform.scan`, which also works around checkov's JSON parser).

=================  =================================================================  ==============
ID                 Asserts                                                            Kind
=================  =================================================================  ==============
CKV_SESPLAT_1      every domain identity declares DKIM signing: an Easy DKIM key      resource check
                   length, or a BYODKIM selector and private key
CKV_SESPLAT_2      every identity has a custom MAIL FROM: an                          YAML graph
                   ``aws_sesv2_email_identity_mail_from_attributes`` referencing it
CKV_SESPLAT_3      every domain identity has a ``_dmarc.<domain>`` TXT ``v=DMARC1``   graph check
                   record: in Route 53 (same zone) when its records are there, else
                   in an output handed to the DNS operator
CKV_SESPLAT_4      no ``aws_iam_access_key`` anywhere (its secret lands in state)     resource check
CKV_SESPLAT_5      every Route 53 ``_dmarc.`` TXT record is one valid DMARC record    resource check
CKV_SESPLAT_6      Easy DKIM keys are 2048-bit                                        resource check
CKV_SESPLAT_7      a BYODKIM private key is a reference (e.g. Secrets Manager), not   resource check
                   a literal in the configuration
CKV_SESPLAT_8      the MAIL FROM domain has its MX (to this region's SES feedback     graph check
                   endpoint) and SPF TXT records, where its identity's records are
=================  =================================================================  ==============

checkov imports every ``*.py`` here as a top-level module named after the file (hence the
``sesplat_`` prefix) and reads every ``*.yaml``/``*.json`` as a graph policy: keep other data
files out of this directory. This package is importable without checkov, but its modules are
not: they run inside checkov's own virtualenv only.
"""
