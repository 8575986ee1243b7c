"""Alarms (DLQ depths, webhook events given up, Lambda errors and throttles, API 5xx, failed imports) and one dashboard.
With an alarm e-mail, alarms notify an encrypted SNS topic."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import aws_apigatewayv2 as apigw
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra import constants as c
from infra.functions import PythonFunction


class Monitoring(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        functions: Sequence[PythonFunction],
        http_api: apigw.HttpApi,
        dead_letters: sqs.Queue,
        webhook_dead_letters: sqs.Queue,
        alarm_email: str | None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.topic = self._topic(alarm_email) if alarm_email else None

        imports_failed = _service_metric(c.IMPORTS_FAILED_METRIC)
        imports_rejected = _service_metric(c.IMPORTS_REJECTED_METRIC)  # the client's: dashboard, no alarm
        dlq_depth = dead_letters.metric_approximate_number_of_messages_visible(
            period=c.ALARM_PERIOD, statistic=cw.Stats.MAXIMUM
        )
        api_5xx = http_api.metric_server_error(period=c.ALARM_PERIOD, statistic=cw.Stats.SUM)
        webhook_dlq_depth = webhook_dead_letters.metric_approximate_number_of_messages_visible(
            period=c.ALARM_PERIOD, statistic=cw.Stats.MAXIMUM
        )
        webhooks_abandoned = _service_metric(c.WEBHOOKS_ABANDONED_METRIC)
        self.alarms = [
            self._alarm("DeadLetters", dlq_depth, "Import messages reached the dead-letter queue"),
            self._alarm("WebhookDeadLetters", webhook_dlq_depth, "Webhook events reached the dead-letter queue"),
            self._alarm(
                "WebhooksAbandoned", webhooks_abandoned, "Webhook events were given up after 24 hours of retries"
            ),
            self._alarm("Api5xx", api_5xx, "The HTTP API answered 5xx"),
            self._alarm("ImportsFailed", imports_failed, "Imports ended FAILED through the service's fault"),
        ]
        for fn in functions:
            name = fn.spec.name.title()
            errors = fn.function.metric_errors(period=c.ALARM_PERIOD, statistic=cw.Stats.SUM)
            throttles = fn.function.metric_throttles(period=c.ALARM_PERIOD, statistic=cw.Stats.SUM)
            self.alarms.append(self._alarm(f"{name}Errors", errors, f"The {fn.spec.name} function failed"))
            self.alarms.append(self._alarm(f"{name}Throttles", throttles, f"The {fn.spec.name} function was throttled"))

        self._dashboard(functions, http_api, api_5xx, [imports_failed, imports_rejected], dlq_depth)

    def _topic(self, alarm_email: str) -> sns.Topic:
        key = kms.Key(self, "TopicKey", enable_key_rotation=True, description="Rostering alarm topic")
        key.grant(iam.ServicePrincipal("cloudwatch.amazonaws.com"), "kms:Decrypt", "kms:GenerateDataKey")
        topic = sns.Topic(self, "AlarmTopic", master_key=key, enforce_ssl=True)
        topic.add_subscription(subscriptions.EmailSubscription(alarm_email))
        return topic

    def _dashboard(
        self,
        functions: Sequence[PythonFunction],
        http_api: apigw.HttpApi,
        api_5xx: cw.IMetric,
        imports: list[cw.IMetric],
        dlq_depth: cw.IMetric,
    ) -> None:
        self.dashboard = cw.Dashboard(self, "Dashboard")
        self.dashboard.add_widgets(
            cw.GraphWidget(title="API requests and 5xx", left=[http_api.metric_count(), api_5xx], width=12),
            cw.GraphWidget(
                title="Imports failed (service) / rejected (client) / DLQ depth",
                left=imports,
                right=[dlq_depth],
                width=12,
            ),
        )
        self.dashboard.add_widgets(
            cw.GraphWidget(title="Lambda errors", left=[f.function.metric_errors() for f in functions], width=8),
            cw.GraphWidget(title="Lambda throttles", left=[f.function.metric_throttles() for f in functions], width=8),
            cw.GraphWidget(
                title="Lambda duration p99",
                left=[f.function.metric_duration(statistic="p99") for f in functions],
                width=8,
            ),
        )
        self.dashboard.add_widgets(cw.AlarmStatusWidget(alarms=self.alarms, title="Alarms", width=24))

    def _alarm(self, construct_id: str, metric: cw.IMetric, description: str) -> cw.Alarm:
        """Alarm as soon as one period holds a non-zero value; missing data is healthy."""
        alarm = cw.Alarm(
            self,
            construct_id,
            metric=metric,
            threshold=0,
            comparison_operator=cw.ComparisonOperator.GREATER_THAN_THRESHOLD,
            evaluation_periods=1,
            treat_missing_data=cw.TreatMissingData.NOT_BREACHING,
            alarm_description=description,
        )
        if self.topic is not None:
            alarm.add_alarm_action(cw_actions.SnsAction(self.topic))
        return alarm


def _service_metric(name: str) -> cw.Metric:
    """A count the functions emit through Powertools Metrics (one namespace, the service dimension)."""
    return cw.Metric(
        namespace=c.METRICS_NAMESPACE,
        metric_name=name,
        dimensions_map={"service": c.POWERTOOLS_SERVICE_NAME},
        statistic=cw.Stats.SUM,
        period=c.ALARM_PERIOD,
    )
