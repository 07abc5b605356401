import assert from "node:assert/strict";
import { test } from "node:test";
import { parsePartialJson } from "../src/partial-json.ts";

test("complete JSON parses as usual", () => {
  assert.deepEqual(parsePartialJson('{"a":1,"b":[true,null]}'), { a: 1, b: [true, null] });
});

test("an open string value is kept so code shows while it streams", () => {
  assert.deepEqual(parsePartialJson('{"title":"Sine","code":"import numpy'), { title: "Sine", code: "import numpy" });
});

test("escapes are decoded and a cut escape is dropped", () => {
  assert.deepEqual(parsePartialJson('{"code":"a\\nb\\'), { code: "a\nb" });
  assert.deepEqual(parsePartialJson('{"code":"x\\u00'), { code: "x" });
  assert.deepEqual(parsePartialJson('{"code":"\\u00e9\\t\\"q\\""}'), { code: 'é\t"q"' });
});

test("a key without a value is dropped", () => {
  assert.deepEqual(parsePartialJson('{"title":"T","co'), { title: "T" });
  assert.deepEqual(parsePartialJson('{"title":"T","code"'), { title: "T" });
  assert.deepEqual(parsePartialJson('{"title":"T","code":'), { title: "T" });
  assert.deepEqual(parsePartialJson('{"title":"T",'), { title: "T" });
});

test("cut literals and numbers", () => {
  assert.deepEqual(parsePartialJson('{"a":tr'), {});
  assert.deepEqual(parsePartialJson('{"a":12'), { a: 12 });
  assert.deepEqual(parsePartialJson('{"a":1.'), { a: 1 });
  assert.deepEqual(parsePartialJson('{"a":-'), {});
  assert.deepEqual(parsePartialJson('[1,2,{"x":[3'), [1, 2, { x: [3] }]);
});

test("empty and invalid text", () => {
  assert.equal(parsePartialJson(""), undefined);
  assert.equal(parsePartialJson("   "), undefined);
  assert.deepEqual(parsePartialJson("{"), {});
  assert.equal(parsePartialJson('{"a" 1'), undefined);
  assert.equal(parsePartialJson("hello"), undefined);
});

test("every prefix of a document parses without throwing and grows the code", () => {
  const doc = JSON.stringify({ language: "python", title: "Pi", code: 'import random\nprint("π ≈", 3.14)\n' });
  let last = "";
  for (let i = 1; i <= doc.length; i++) {
    const v = parsePartialJson(doc.slice(0, i)) as { code?: string } | undefined;
    const code = v?.code ?? "";
    assert.ok(code.startsWith(last) || last.startsWith(code), `prefix ${i}`);
    if (code.length >= last.length) last = code;
  }
  assert.equal(last, 'import random\nprint("π ≈", 3.14)\n');
});
