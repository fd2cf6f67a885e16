import { Client } from "pg";
import {
  compareSchema,
  introspectDatabase,
  parsePrismaSchema,
  readPrismaSchema,
  type DatabaseShape,
  type ModelDef,
  type PrismaSchema,
} from "../../support/prisma-schema";
import { testDatabaseUrl } from "../../support/test-env";

// prisma/migrations is hand-written SQL (the schema engine cannot run here): this keeps it in step with
// prisma/schema.prisma in both directions.

describe("schema.prisma parser", () => {
  const parsed = parsePrismaSchema(`
    // a comment with { braces }
    enum Colour {
      red
      green // trailing comment
      @@map("colour")
    }
    model Owner {
      id    BigInt  @id @default(autoincrement())
      pets  Pet[]
    }
    model Pet {
      id        String   @id @default(uuid(7)) @db.Uuid
      ownerId   BigInt?  @map("owner_id")
      tags      String[] @default([])
      colour    Colour   @default(red)
      meta      Json     @default("{ \\"a\\": \\"//\\" }")
      bornAt    DateTime @map("born_at") @db.Timestamptz(3)
      owner     Owner?   @relation(fields: [ownerId], references: [id])
      @@unique([ownerId, tags])
      @@index([ownerId, id(sort: Desc)], map: "custom_name")
      @@map("pets")
    }
  `);

  it("reads models, scalar columns, keys, indexes and enums, and skips relation fields", () => {
    expect(parsed.enums).toEqual([{ name: "Colour", dbName: "colour", values: ["red", "green"] }]);
    const pet = parsed.models.find((m) => m.name === "Pet");
    expect(pet).toMatchObject({
      table: "pets",
      primaryKey: ["id"],
      uniques: [["owner_id", "tags"]],
      indexes: [[{ column: "owner_id", descending: false }, { column: "id", descending: true }]],
    });
    expect(pet?.columns.map((c) => c.column)).toEqual(["id", "owner_id", "tags", "colour", "meta", "born_at"]);
    expect(pet?.columns.find((c) => c.field === "ownerId")).toMatchObject({ optional: true, list: false, type: "BigInt" });
    expect(pet?.columns.find((c) => c.field === "tags")).toMatchObject({ optional: false, list: true });
    expect(pet?.columns.find((c) => c.field === "bornAt")?.nativeType).toEqual({ name: "Timestamptz", args: ["3"] });
    expect(parsed.models.find((m) => m.name === "Owner")?.columns.map((c) => c.field)).toEqual(["id"]);
  });
});

describe("migrated database vs prisma/schema.prisma", () => {
  let schema: PrismaSchema;
  let db: DatabaseShape;

  beforeAll(async () => {
    schema = readPrismaSchema();
    const client = new Client({ connectionString: testDatabaseUrl() });
    await client.connect();
    try {
      db = await introspectDatabase(client);
    } finally {
      await client.end();
    }
  });

  it("parses every model and enum of the schema", () => {
    expect(schema.models.map((m) => m.table)).toEqual(expect.arrayContaining(["api_keys", "audit_events", "tenants", "users"]));
    expect(schema.enums.map((e) => e.name)).toEqual(expect.arrayContaining(["UserKind", "UserRole", "UserStatus"]));
  });

  it("has exactly the tables, columns, keys, indexes and enums the schema declares", () => {
    expect(compareSchema(schema, db)).toEqual([]);
  });

  // The comparator must see drift on either side, or the test above proves nothing.
  const drifts: [string, (s: PrismaSchema) => void, RegExp][] = [
    ["a column the database lacks", (s) => addColumn(model(s, "users"), "nickname"), /column users\.nickname is missing/],
    [
      "a column the schema lacks",
      (s) => dropColumn(model(s, "users"), "sso_bypass"),
      /column users\.sso_bypass is in the database but not in the schema/,
    ],
    [
      "a table the schema lacks",
      (s) => void s.models.splice(s.models.indexOf(model(s, "api_keys")), 1),
      /table api_keys is in the database but not in the schema/,
    ],
    [
      "a nullability change",
      (s) => setColumn(model(s, "tenants"), "name", { optional: true }),
      /column tenants\.name is NOT NULL/,
    ],
    [
      "a type change",
      (s) => setColumn(model(s, "tenants"), "session_idle_minutes", { type: "BigInt" }),
      /tenants\.session_idle_minutes has type int4, schema wants int8/,
    ],
    ["a missing unique index", (s) => model(s, "users").uniques.push(["email"]), /users: unique index over \(email\) is missing/],
    ["an undeclared unique index", (s) => (model(s, "api_keys").uniques = []), /api_keys_key_hash_key .* not in the schema/],
    ["an index sort order", (s) => flipFirstDesc(model(s, "audit_events")), /audit_events: index over \(tenant_id, id\) is missing/],
    ["an enum value", (s) => s.enums[0]?.values.push("robot"), /enum \w+ has values/],
  ];

  it.each(drifts)("reports %s", (_name, mutate, expected) => {
    const drifted = structuredClone(schema);
    mutate(drifted);
    expect(compareSchema(drifted, db).join("\n")).toMatch(expected);
  });
});

function model(schema: PrismaSchema, table: string): ModelDef {
  const found = schema.models.find((m) => m.table === table);
  if (!found) throw new Error(`no model for ${table}`);
  return found;
}

function addColumn(target: ModelDef, column: string): void {
  target.columns.push({ field: column, column, type: "String", optional: true, list: false });
}

function dropColumn(target: ModelDef, column: string): void {
  target.columns = target.columns.filter((c) => c.column !== column);
}

function setColumn(target: ModelDef, column: string, change: Partial<ModelDef["columns"][number]>): void {
  const found = target.columns.find((c) => c.column === column);
  if (!found) throw new Error(`no column ${column}`);
  Object.assign(found, change);
}

function flipFirstDesc(target: ModelDef): void {
  const column = target.indexes[0]?.find((c) => c.descending);
  if (column) column.descending = false;
}
