"""``make run``: the whole service on one machine. One process owns everything it starts:
moto (behind the presigned POST policy guard) and the token issuer on free auxiliary ports,
the queue pump, and the gateway on ``PORT``; Ctrl-C stops them all."""

from __future__ import annotations

import importlib
import logging
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any

import boto3
from moto.server import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import BaseWSGIServer, make_server

from lambdas.common import observability, routes, schema
from lambdas.common.config import Env, Settings
from local import moto_dynamodb
from local.issuer import DEFAULT_LOCAL_CLIENTS, ENDPOINT_PATH, LocalIssuer, parse_clients
from local.resources import (
    create_bucket,
    create_import_queue,
    create_tables,
    create_webhook_key,
    create_webhook_queue,
    resource_environment,
)
from local.s3_policy import PostPolicyGuard
from ops.tenants import register

HOST = "127.0.0.1"
OPENAPI = Path(__file__).resolve().parent.parent / "openapi.yaml"
LOCAL_ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "local",
    "AWS_SECRET_ACCESS_KEY": "local",
    "AWS_DEFAULT_REGION": "us-east-1",
    "POWERTOOLS_SERVICE_NAME": observability.SERVICE,
    "POWERTOOLS_METRICS_NAMESPACE": observability.NAMESPACE,
}


# The queues a function reads through an event source mapping, and the local workers of each (Lambda
# scales out instead). The stack's mappings are built from the same specs: tests/infra/test_queues.py.
PUMPED_QUEUES = ((schema.IMPORT_QUEUE, 2), (schema.IMPORT_DLQ, 1), (schema.WEBHOOK_QUEUE, 2))


class LocalStack:
    def __init__(self, port: int) -> None:
        self.port = port
        self.base_url = f"http://{HOST}:{port}"
        self._servers: list[BaseWSGIServer] = []
        self._pumps: list[Any] = []

    def start(self) -> None:
        moto_dynamodb.install()  # transactions as isolated as DynamoDB's (see the module)
        credentials = {LOCAL_ENVIRONMENT["AWS_ACCESS_KEY_ID"]: LOCAL_ENVIRONMENT["AWS_SECRET_ACCESS_KEY"]}
        aws = self._serve(PostPolicyGuard(DomainDispatcherApplication(create_backend_app), credentials), 0)
        self.aws_url = f"http://{HOST}:{aws.server_port}"
        issuer_box: dict[str, LocalIssuer] = {}
        token_server = self._serve(lambda environ, start: issuer_box["issuer"].wsgi_app(environ, start), 0)
        token_base = f"http://{HOST}:{token_server.server_port}"
        self.issuer = issuer_box["issuer"] = LocalIssuer.from_env(f"{token_base}/local_pool")

        self._configure(token_base)
        self._start_pumps()
        self._serve(self._gateway(), self.port)

    def _configure(self, token_base: str) -> dict[str, str]:
        """The functions' environment, and the resources it names."""
        os.environ.update(LOCAL_ENVIRONMENT)
        os.environ.update(resource_environment())
        os.environ.update(
            {
                "AWS_ENDPOINT_URL": self.aws_url,
                Env.TOKEN_ENDPOINT_URL: token_base + ENDPOINT_PATH,
                Env.TOKEN_ISSUER_URL: self.issuer.issuer_url,
                # Webhook receivers on this machine (http://127.0.0.1:...) are allowed here only.
                Env.WEBHOOK_ALLOW_LOOPBACK: "true",
                Env.IMPORT_LEASE_SECONDS: str(schema.IMPORT_LEASE_SECONDS),  # as the stack sets it
            }
        )
        queues = self._create_resources(Settings.from_env())
        os.environ[Env.IMPORT_QUEUE_URL] = queues["queue_url"]
        os.environ[Env.WEBHOOK_QUEUE_URL] = queues["webhook_queue_url"]
        return queues

    def _gateway(self) -> Any:
        # Imported only now: each handler reads its configuration from the environment at import.
        from lambdas.authorizer.registry import TenantRegistry
        from lambdas.authorizer.tokens import TokenVerifier
        from local.authorizer import LambdaAuthorizer
        from local.gateway import Gateway

        # The deployed authorizer's code: the issuer's JWKS and the tenants table (in moto), where
        # the local tenants are registered as `python -m ops.tenants create` registers them.
        tenants_table = Settings.from_env().tenants_table
        for client_id in self.issuer.client_ids():
            register(boto3.client("dynamodb"), tenants_table, client_id, client_id)
        registry = TenantRegistry(tenants_table, ttl_seconds=0)
        authorizer = LambdaAuthorizer(
            TokenVerifier(issuer=self.issuer.issuer_url, jwks=self.issuer.jwks, is_tenant=registry.is_tenant)
        )
        gateway = Gateway(
            handlers={name: lambda_handler(name) for name in routes.functions()},
            authorizer=authorizer,
            extra_documents={"/openapi.yaml": ("application/yaml", OPENAPI.read_bytes())},
        )
        return gateway

    def _start_pumps(self) -> None:
        """Lambda's SQS event source mappings (``PUMPED_QUEUES``), each invoking the handler of the
        function its queue spec names."""
        from local.pump import QueuePump

        sqs = boto3.client("sqs")
        for spec, workers in PUMPED_QUEUES:
            pump = QueuePump(sqs, spec, lambda_handler(spec.reader().function), workers=workers)
            pump.start()
            self._pumps.append(pump)

    def stop(self) -> None:
        for pump in self._pumps:
            pump.stop()
        for server in reversed(self._servers):
            server.shutdown()
            server.server_close()

    def _serve(self, app: Any, port: int) -> BaseWSGIServer:
        server = make_server(HOST, port, app, threaded=True)
        threading.Thread(target=server.serve_forever, name=f"http-{server.server_port}", daemon=True).start()
        self._servers.append(server)
        return server

    @staticmethod
    def _create_resources(settings: Settings) -> dict[str, str]:
        s3 = boto3.client("s3")
        create_bucket(s3, settings)
        create_tables(boto3.client("dynamodb"), settings)
        events = boto3.client("events")
        events.create_event_bus(Name=settings.event_bus_name)
        create_webhook_key(boto3.client("kms"), settings)
        webhooks = create_webhook_queue(boto3.client("sqs"), events, settings)
        queues = create_import_queue(boto3.client("sqs"), s3, settings)
        return {**queues, "webhook_queue_url": webhooks["queue_url"], "webhook_queue_arn": webhooks["queue_arn"]}


def lambda_handler(function: str) -> Any:
    """The entry point of ``function``, resolved as Lambda resolves the stack's handler setting."""
    module, name = routes.entry_point(function).rsplit(".", 1)
    return getattr(importlib.import_module(module), name)


def banner(stack: LocalStack) -> str:
    client_id, secret = next(iter(parse_clients(os.environ.get("LOCAL_CLIENTS") or DEFAULT_LOCAL_CLIENTS).items()))
    url = stack.base_url
    return f"""
Rostering Upload API (local stack) at {url}
  tenants: {", ".join(stack.issuer.client_ids())}   (set LOCAL_CLIENTS=id:secret,... to change)
  demo credentials: client_id={client_id} client_secret={secret}
  OpenAPI: {url}/openapi.yaml
  AWS (moto) endpoint: {stack.aws_url}   (to look inside: aws --endpoint-url {stack.aws_url} s3 ls ...)

Try it:
  TOKEN=$(curl -s --form grant_type=client_credentials --form client_id={client_id} \\
      --form client_secret={secret} {url}{routes.TOKEN.path} \\
      | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
  curl -s --header "Authorization: Bearer $TOKEN" --header 'Content-Type: multipart/form-data' \\
      --form 'file=@users.csv' {url}{routes.UPLOAD.path}
  curl -s --header "Authorization: Bearer $TOKEN" {url}{routes.STATUS.path}
  curl -s --header "Authorization: Bearer $TOKEN" {url}{routes.DOWNLOAD.path}
"""


def main() -> int:
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no access log line per emulated AWS call
    # Ctrl-C and a service manager's SIGTERM both stop everything, even when the shell that
    # started us in the background left SIGINT ignored.
    for stop_signal in (signal.SIGINT, signal.SIGTERM):
        signal.signal(stop_signal, signal.default_int_handler)
    port = int(os.environ.get("PORT") or 8000)
    stack = LocalStack(port)
    try:
        stack.start()
        print(banner(stack), flush=True)
        print(f"ready: serving {stack.base_url} (Ctrl-C stops)", flush=True)
        threading.Event().wait()
    except KeyboardInterrupt:
        print("stopping", file=sys.stderr, flush=True)
    finally:
        stack.stop()
    return 0
