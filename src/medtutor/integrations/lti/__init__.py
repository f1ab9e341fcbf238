"""medtutor as an LTI 1.3 / LTI Advantage tool (launch, deep linking, AGS scores, NRPS rosters).

Written on the IMS specifications with PyJWT and cryptography (see docs/adr/0004-lti.md):
LTI Core 1.3 https://www.imsglobal.org/spec/lti/v1p3/, Security Framework 1.0
https://www.imsglobal.org/spec/security/v1p0/, Deep Linking 2.0, AGS 2.0, NRPS 2.0.
"""
