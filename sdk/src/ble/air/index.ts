/**
 * The cross-process air's client side and wire format (docs/ble.md): `connectAir(url)` gives a `BleCentral` or
 * `BlePeripheral` on an air served by `triadkit-sim air` (firmware-sim keeps the server). In the sdk so that a
 * station can burn over BLE without importing the simulator.
 */
export * from "./air-client.js";
export { num as airNum, optNum as airOptNum, optStr as airOptStr, str as airStr } from "./fields.js";
export {
  AIR_PROTOCOL_VERSION,
  encodeFrame as encodeAirFrame,
  type Frame as AirFrame,
  FrameKind as AirFrameKind,
  FrameReader as AirFrameReader,
  MAX_FRAME_BYTES as AIR_MAX_FRAME_BYTES,
} from "./frames.js";
export {
  AirPeer,
  type EventHandler as AirEventHandler,
  errorFromHeader as airErrorFromHeader,
  errorHeader as airErrorHeader,
  type Reply as AirReply,
  type RequestHandler as AirRequestHandler,
} from "./peer.js";
