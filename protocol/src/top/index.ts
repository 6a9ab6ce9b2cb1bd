export * from "./envelope.js";
export * from "./methods.js";
export * from "./request.js";
export * from "./shelf-tags.js";
export * from "./sign.js";
export * from "./timestamp.js";
