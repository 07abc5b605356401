// Best-effort parse of a JSON text that may be cut off anywhere (tool arguments while they stream).
// Open strings, arrays and objects are closed; a key without a value and an unfinished literal are
// dropped. Returns undefined for text that is not a prefix of valid JSON.

const MISSING: unique symbol = Symbol("missing");
type Parsed = unknown | typeof MISSING;

class Invalid extends Error {}

class Parser {
  pos = 0;
  constructor(private readonly text: string) {}

  get eof(): boolean {
    return this.pos >= this.text.length;
  }

  skipWs(): void {
    while (!this.eof && " \t\r\n".includes(this.text[this.pos]!)) this.pos++;
  }

  value(): Parsed {
    this.skipWs();
    if (this.eof) return MISSING;
    const c = this.text[this.pos]!;
    if (c === "{") return this.object();
    if (c === "[") return this.array();
    if (c === '"') return this.string().value;
    if (c === "-" || (c >= "0" && c <= "9")) return this.number();
    return this.literal();
  }

  object(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    this.pos++; // {
    for (;;) {
      this.skipWs();
      if (this.eof) return out;
      if (this.text[this.pos] === "}") {
        this.pos++;
        return out;
      }
      if (this.text[this.pos] !== '"') throw new Invalid("key expected");
      const key = this.string();
      if (!key.closed) return out;
      this.skipWs();
      if (this.eof) return out;
      if (this.text[this.pos] !== ":") throw new Invalid("':' expected");
      this.pos++;
      const value = this.value();
      if (value === MISSING) return out;
      out[key.value] = value;
      this.skipWs();
      if (this.eof) return out;
      const sep = this.text[this.pos++];
      if (sep === "}") return out;
      if (sep !== ",") throw new Invalid("',' or '}' expected");
    }
  }

  array(): unknown[] {
    const out: unknown[] = [];
    this.pos++; // [
    for (;;) {
      this.skipWs();
      if (this.eof) return out;
      if (this.text[this.pos] === "]") {
        this.pos++;
        return out;
      }
      const value = this.value();
      if (value === MISSING) return out;
      out.push(value);
      this.skipWs();
      if (this.eof) return out;
      const sep = this.text[this.pos++];
      if (sep === "]") return out;
      if (sep !== ",") throw new Invalid("',' or ']' expected");
    }
  }

  string(): { value: string; closed: boolean } {
    this.pos++; // opening quote
    let out = "";
    while (!this.eof) {
      const c = this.text[this.pos]!;
      if (c === '"') {
        this.pos++;
        return { value: out, closed: true };
      }
      if (c !== "\\") {
        out += c;
        this.pos++;
        continue;
      }
      const e = this.text[this.pos + 1];
      if (e === undefined) break; // cut inside an escape
      const simple: Record<string, string> = { '"': '"', "\\": "\\", "/": "/", b: "\b", f: "\f", n: "\n", r: "\r", t: "\t" };
      if (e in simple) {
        out += simple[e];
        this.pos += 2;
        continue;
      }
      if (e !== "u") throw new Invalid("bad escape");
      const hex = this.text.slice(this.pos + 2, this.pos + 6);
      if (hex.length < 4) break;
      if (!/^[0-9a-fA-F]{4}$/.test(hex)) throw new Invalid("bad \\u escape");
      out += String.fromCharCode(parseInt(hex, 16));
      this.pos += 6;
    }
    this.pos = this.text.length;
    // A lone high surrogate at the cut would render as garbage.
    if (/[\uD800-\uDBFF]$/.test(out)) out = out.slice(0, -1);
    return { value: out, closed: false };
  }

  number(): Parsed {
    const m = /^-?(\d+)?(\.\d*)?([eE][+-]?\d*)?/.exec(this.text.slice(this.pos))!;
    this.pos += m[0].length;
    let s = m[0];
    if (!this.eof) {
      const n = Number(s);
      if (Number.isNaN(n) || s === "") throw new Invalid("bad number");
      return n;
    }
    // Cut inside the number: keep its valid prefix.
    s = s.replace(/[eE][+-]?$/, "").replace(/\.$/, "");
    if (s === "" || s === "-") return MISSING;
    return Number(s);
  }

  literal(): Parsed {
    for (const [word, value] of [["true", true], ["false", false], ["null", null]] as const) {
      const rest = this.text.slice(this.pos, this.pos + word.length);
      if (rest === word) {
        this.pos += word.length;
        return value;
      }
      if (this.pos + rest.length === this.text.length && word.startsWith(rest)) {
        this.pos = this.text.length;
        return MISSING;
      }
    }
    throw new Invalid("unexpected character");
  }
}

export function parsePartialJson(text: string): unknown {
  if (text.trim() === "") return undefined;
  try {
    return JSON.parse(text);
  } catch {
    // fall through to the tolerant parser
  }
  try {
    const parser = new Parser(text);
    const value = parser.value();
    parser.skipWs();
    if (!parser.eof) return undefined; // trailing garbage: not a prefix of JSON
    return value === MISSING ? undefined : value;
  } catch (e) {
    if (e instanceof Invalid) return undefined;
    throw e;
  }
}
