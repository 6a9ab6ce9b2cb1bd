/**
 * WiFi provisioning: proof of possession, the one-round-trip secure session, provisioning messages and the
 * bind-token carrier. Pure: no I/O, randomness injected. See docs/provisioning.md.
 */

export * from "./advert.js";
export * from "./bind-token.js";
export * from "./ble-framing.js";
export * from "./messages.js";
export * from "./pop.js";
export * from "./session.js";
