"""One module per Lambda function, named for it: ``lambdas.handlers.<function>.lambda_handler``.

Handlers are thin: they read the event with Powertools, call a domain package of ``lambdas`` and
shape the answer. Nothing else of ours imports them.
"""
