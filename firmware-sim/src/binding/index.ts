/** The binding monitor (机卡绑定 监控) of the platform emulator: see docs/binding.md. */
export { type Classification, type ClassifyFacts, classify, judgeHeartbeat, type SequenceVerdict } from "./classify.js";
export {
  ALERT_TOPIC_FILTER,
  ALERT_TOPIC_PREFIX,
  type AlertMessage,
  alertTopic,
  type WebhookOptions,
} from "./delivery.js";
export { type ExpectedSheet, normaliseReported, parseExpectedCsv } from "./expected-csv.js";
export { type BindingHost, BindingMonitor, type BindingMonitorDeps, SUSPEND_SERVICE } from "./monitor.js";
export { operatorMaySubscribe } from "./operator.js";
export type { BindingOptions, BindingPolicy, OperatorLogin } from "./options.js";
export { BINDING_SCHEMA_VERSION, BindingStore } from "./store.js";
export * from "./types.js";
