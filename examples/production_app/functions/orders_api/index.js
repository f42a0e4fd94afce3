"use strict";
// The orders API behind API Gateway (REST API, Lambda proxy integration, payload 1.0):
//
//   GET  /api/health  -> 200 {"status": "ok", "region": ...}
//   POST /api/orders  -> 202 {"order_id": ...}; the body is a JSON object (the order). The order goes
//                        on the region's work queue (QUEUE_URL), whose worker stores it.
//   /api/orders, another method -> 405; anything else -> 404
//
// A queue that refuses the order is answered 503: nothing is accepted that is not queued. WAF has
// answered bodies above the API's limit with 413 before they get here. The AWS SDK for JavaScript
// v3 is part of the nodejs22.x runtime: the directory is deployed as it is, nothing bundled.

const { randomUUID } = require("node:crypto");

let sqs; // made on first use, reused by later invocations of this instance

function queue() {
  if (sqs === undefined) {
    const { SQSClient } = require("@aws-sdk/client-sqs");
    sqs = new SQSClient({});
  }
  return sqs;
}

function answer(statusCode, body, headers = {}) {
  return {
    statusCode,
    headers: {
      "Content-Type": "application/json",
      // The origin the API's CORS preflights allow (the stack sets it from the API's Cors).
      "Access-Control-Allow-Origin": process.env.CORS_ALLOW_ORIGIN || "*",
      ...headers,
    },
    body: JSON.stringify(body),
  };
}

function parseOrder(event) {
  const raw = event.isBase64Encoded ? Buffer.from(event.body || "", "base64").toString("utf8") : event.body || "";
  try {
    const order = JSON.parse(raw);
    return order !== null && typeof order === "object" && !Array.isArray(order) ? order : undefined;
  } catch {
    return undefined;
  }
}

exports.handler = async (event) => {
  const path = (event && event.path) || "";
  const method = (event && event.httpMethod) || "";
  if (path === "/api/health" && method === "GET") {
    return answer(200, { status: "ok", region: process.env.REGION });
  }
  if (path !== "/api/orders") {
    return answer(404, { error: "not found" });
  }
  if (method !== "POST") {
    return answer(405, { error: "method not allowed" }, { Allow: "POST" });
  }
  const order = parseOrder(event);
  if (order === undefined) {
    return answer(400, { error: "the body must be a JSON object" });
  }
  const orderId = randomUUID();
  const { SendMessageCommand } = require("@aws-sdk/client-sqs");
  try {
    await queue().send(
      new SendMessageCommand({
        QueueUrl: process.env.QUEUE_URL,
        MessageBody: JSON.stringify({ order_id: orderId, order, received_region: process.env.REGION }),
      }),
    );
  } catch (error) {
    console.error(JSON.stringify({ message: "order not queued", order_id: orderId, error: error.name }));
    return answer(503, { error: "the order was not accepted; try again" }, { "Retry-After": "1" });
  }
  return answer(202, { order_id: orderId });
};
