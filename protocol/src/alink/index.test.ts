import { describe, expect, it } from "vitest";
import * as alink from "./index.js";

describe("alink barrel", () => {
  it("exports the public API and no internals", () => {
    const names = Object.keys(alink).sort();
    for (const name of [
      "parseTopic",
      "buildTopic",
      "replyTopicOf",
      "deviceSubscriptionFilters",
      "encodeRequest",
      "decodeReply",
      "createIdGenerator",
      "REPLY_CODES",
      "describeReplyCode",
      "ntpUtcMs",
      "encodeOtaProgress",
      "decodeExtError",
      "decodeRegisterResult",
      "decodeRegnwlResult",
      "encodeIdentityReport",
      "decodeBindingEvent",
    ]) {
      expect(names).toContain(name);
    }
    for (const internal of ["JsonReader", "parseJsonObject", "readRequest", "requestObject", "readAlinkId"]) {
      expect(names).not.toContain(internal);
    }
  });
});
