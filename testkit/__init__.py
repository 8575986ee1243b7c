"""What the tests and the benchmarks both drive the service with: the canonical AWS events
(``events/``, as API Gateway, S3 and SQS send them), a Lambda context, the import stack in moto and
the local stack as a child process. Not part of the Lambda asset; nothing of the service imports it."""
