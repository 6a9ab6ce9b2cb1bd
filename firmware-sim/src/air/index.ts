export {
  AIR_MAX_FRAME_BYTES,
  AIR_PROTOCOL_VERSION,
  type AirFrame,
  AirFrameKind,
  AirFrameReader,
  encodeAirFrame,
} from "@triadkit/sdk";
export * from "./air-client.js";
export { type AirServer, type AirServerEvent, type AirServerOptions, startAirServer } from "./air-server.js";
