"use strict";
// The orders queue's worker: stores each order as an item of the global table (TABLE_NAME, key "id")
// with UpdateItem, the item-level write its grant allows. It reports the messages it could not store
// one by one (partial batch responses, which the queue trigger turns on): only those are retried,
// and after the queue's receive limit they move to the dead-letter queue, where an alarm fires.
// Storing an order twice (a retried message) writes the same item again: the worker is idempotent.

let dynamodb; // made on first use, reused by later invocations of this instance

function table() {
  if (dynamodb === undefined) {
    const { DynamoDBClient } = require("@aws-sdk/client-dynamodb");
    dynamodb = new DynamoDBClient({});
  }
  return dynamodb;
}

async function store(message) {
  if (message === null || typeof message !== "object" || typeof message.order_id !== "string") {
    throw new TypeError("the message is not an order");
  }
  const { UpdateItemCommand } = require("@aws-sdk/client-dynamodb");
  await table().send(
    new UpdateItemCommand({
      TableName: process.env.TABLE_NAME,
      Key: { id: { S: message.order_id } },
      UpdateExpression: "SET #order = :order, #received = :received, #stored = :stored",
      ExpressionAttributeNames: { "#order": "order", "#received": "received_region", "#stored": "stored_region" },
      ExpressionAttributeValues: {
        ":order": { S: JSON.stringify(message.order) },
        ":received": { S: String(message.received_region) },
        ":stored": { S: String(process.env.REGION) },
      },
    }),
  );
}

exports.handler = async (event) => {
  const batchItemFailures = [];
  for (const record of (event && event.Records) || []) {
    try {
      await store(JSON.parse(record.body));
    } catch (error) {
      console.error(JSON.stringify({ message: "order not stored", message_id: record.messageId, error: error.name }));
      batchItemFailures.push({ itemIdentifier: record.messageId });
    }
  }
  return { batchItemFailures };
};
