"""Lambda functions of the Rostering Upload API and the domain logic they call.

The whole package is the Lambda asset. ``handlers/`` holds one thin module per function
(``lambdas.handlers.<function>.lambda_handler``); every other package is a domain they call
(``intake``, ``importer``, ``jobs``, ``roster``, ``oauth``, ``authorizer``, ``webhooks``,
``tenants``), with ``common`` underneath all of them.
"""
