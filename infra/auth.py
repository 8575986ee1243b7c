"""Cognito user pool for machine-to-machine tenants: resource server ``rostering`` with the
``import`` and ``read`` scopes and a hosted domain for /oauth2/token. Tenants (app clients) are
made by ``python -m ops.tenants``, never by the stack (docs/AUTH.md)."""

from __future__ import annotations

from aws_cdk import Acknowledgment, RemovalPolicy, Stack, Validations
from aws_cdk import aws_cognito as cognito
from constructs import Construct

from infra import constants as c

# The pool issues client_credentials tokens only: the user-facing checks do not apply.
_POOL_ACKNOWLEDGEMENTS = (
    Acknowledgment(
        id="AwsSolutions-COG2",
        reason="The pool has no users: tenants are app clients using client_credentials, so MFA never applies.",
    ),
    Acknowledgment(
        id="AwsSolutions-COG3",
        reason="Threat protection scores user sign-ins; this pool only issues client_credentials tokens.",
    ),
    Acknowledgment(
        id="AwsSolutions-COG8",
        reason="The Plus plan only adds user threat protection, and this pool has no users.",
    ),
)


class Auth(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        domain_prefix: str,
        deletion_protection: bool,
    ) -> None:
        super().__init__(scope, construct_id)
        self.user_pool = cognito.UserPool(
            self,
            "UserPool",
            self_sign_up_enabled=False,
            deletion_protection=deletion_protection,
            removal_policy=RemovalPolicy.RETAIN if deletion_protection else RemovalPolicy.DESTROY,
            password_policy=cognito.PasswordPolicy(
                min_length=12, require_digits=True, require_lowercase=True, require_uppercase=True, require_symbols=True
            ),
            account_recovery=cognito.AccountRecovery.NONE,
            feature_plan=cognito.FeaturePlan.ESSENTIALS,
        )
        Validations.of(self.user_pool).acknowledge(*_POOL_ACKNOWLEDGEMENTS)
        scopes = [
            cognito.ResourceServerScope(scope_name=c.IMPORT_SCOPE_NAME, scope_description="Upload rostering files"),
            cognito.ResourceServerScope(
                scope_name=c.READ_SCOPE_NAME, scope_description="Read import status and reports"
            ),
        ]
        self.resource_server = self.user_pool.add_resource_server(
            "ResourceServer", identifier=c.RESOURCE_SERVER, scopes=scopes
        )
        self.oauth_scopes = [cognito.OAuthScope.resource_server(self.resource_server, s) for s in scopes]
        self.domain = self.user_pool.add_domain(
            "Domain", cognito_domain=cognito.CognitoDomainOptions(domain_prefix=domain_prefix)
        )
        self.token_endpoint_url = f"{self.domain.base_url()}/oauth2/token"
        self.issuer = f"https://cognito-idp.{Stack.of(self).region}.amazonaws.com/{self.user_pool.user_pool_id}"
