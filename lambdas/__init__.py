"""Lambda functions of the Rostering Upload API and the domain logic they call.

The whole package is the Lambda asset: handlers are addressed as
``lambdas.<function>.handler.lambda_handler``.
"""
