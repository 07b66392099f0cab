"""The accountants' desk: server-rendered pages, one module per concern.

Every view resolves the organisation from the URL among the person's memberships (404 otherwise)
and checks the permission of its action itself, on every POST (CSRF is on, as everywhere).
"""
