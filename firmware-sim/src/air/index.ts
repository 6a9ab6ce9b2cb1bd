export * from "./air-client.js";
export { type AirServer, type AirServerEvent, type AirServerOptions, startAirServer } from "./air-server.js";
export {
  AIR_PROTOCOL_VERSION,
  encodeFrame as encodeAirFrame,
  type Frame as AirFrame,
  FrameKind as AirFrameKind,
  FrameReader as AirFrameReader,
  MAX_FRAME_BYTES as AIR_MAX_FRAME_BYTES,
} from "./frames.js";
