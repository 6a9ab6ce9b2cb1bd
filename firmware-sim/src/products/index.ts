export * from "./admin-server.js";
export * from "./product-push.js";
