/** Identifier validators: IMEI/IMEISV, MEID, ICCID (incl. EF_ICCID), IMSI, IoT MSISDN, MAC / BLE addresses, Luhn. */

export {
  decodeEfIccid,
  EF_ICCID_BYTES,
  ICCID_OPERATOR_PREFIXES,
  type Iccid,
  type IccidLuhnStatus,
  type IccidOperator,
  iccidCheckDigit,
  iccidOperator,
  type ParseIccidOptions,
  parseEfIccid,
  parseIccid,
} from "./iccid.js";
export {
  IMEI_LENGTH,
  IMEISV_LENGTH,
  type ImeiParts,
  type ImeiSvParts,
  imeiCheckDigit,
  imeiFromImeiSv,
  type ParseImeiOptions,
  parseImei,
  parseImeiSv,
  splitImei,
  splitImeiSv,
} from "./imei.js";
export {
  CHINA_MCC,
  CHINA_MNC_OPERATORS,
  checkIccidImsiOperators,
  IMSI_MAX_LENGTH,
  IMSI_MIN_LENGTH,
  type Imsi,
  type ImsiOperator,
  type ParseImsiOptions,
  parseImsi,
} from "./imsi.js";
export { isDecimalDigits, isLuhnValid, luhnCheckDigit } from "./luhn.js";
export {
  formatMac,
  type MacKind,
  type MacSeparator,
  normalizeMac,
  type ParseMacOptions,
  parseBleRandomStaticAddress,
  parseMac,
} from "./mac.js";
export {
  MEID_DECIMAL_LENGTH,
  MEID_LENGTH,
  type MeidParts,
  meidCheckDigit,
  meidFromDecimal,
  meidToDecimal,
  meidToPesn,
  parseMeid,
  splitMeid,
} from "./meid.js";
export {
  IOT_14X_PATTERN,
  IOT_MSISDN_LENGTH,
  IOT_MSISDN_PREFIXES,
  type IotMsisdn,
  type IotMsisdnKind,
  type MsisdnOperator,
  type ParseIotMsisdnOptions,
  parseIotMsisdn,
} from "./msisdn.js";
