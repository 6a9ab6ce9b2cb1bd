/** Label payloads: what the QR code on a device or carton label carries. Pure; see ./label-payload.ts. */
export * from "./label-payload.js";
