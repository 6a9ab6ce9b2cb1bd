export * from "./bridge.js";
export type { ApiContext, ApiOutcome, GatewayApi } from "./gateway-apis.js";
export type { DeviceStatusRecord, IssuedSession, TopGatewayApp, TopGatewaySession } from "./gateway-state.js";
export * from "./shelf-top.js";
export * from "./top-gateway.js";
