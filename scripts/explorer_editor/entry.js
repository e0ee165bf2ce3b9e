// The small API the explorer page (extapi/web/static/explorer.js) uses, bundled with
// CodeMirror 6, cm6-graphql and graphql-js into one file by scripts/vendor_explorer.sh.
import { basicSetup, EditorView } from "codemirror";
import { keymap } from "@codemirror/view";
import { json } from "@codemirror/lang-json";
import { graphql, updateSchema } from "cm6-graphql";
import { buildSchema } from "graphql";

// An editor in place of a <textarea>, which stays the source of truth for the form: every
// change is written back, so submitting the form sends what the editor shows.
// nonce: the page's CSP nonce for <style> elements, where CodeMirror puts its stylesheet.
function attach(textarea, extensions, onRun, nonce) {
  const run = keymap.of([{ key: "Mod-Enter", run: () => { onRun(); return true; } }]);
  const view = new EditorView({
    doc: textarea.value,
    extensions: [
      run,
      basicSetup,
      EditorView.cspNonce.of(nonce || ""),
      EditorView.lineWrapping,
      EditorView.contentAttributes.of({
        "aria-label": textarea.getAttribute("aria-label") || "",
        autocapitalize: "off",
        spellcheck: "false",
      }),
      EditorView.updateListener.of((update) => {
        if (update.docChanged) textarea.value = update.state.doc.toString();
      }),
      ...extensions,
    ],
  });
  textarea.hidden = true;
  textarea.after(view.dom);
  return view;
}

// A GraphQL editor; completion and checking start once setSchema gives it the schema.
export function queryEditor(textarea, onRun, nonce) {
  return attach(textarea, [graphql()], onRun, nonce);
}

// Gives a query editor the schema, as SDL text; false when the text is not a schema.
export function setSchema(view, sdl) {
  try {
    updateSchema(view, buildSchema(sdl));
    return true;
  } catch (error) {
    return false;
  }
}

export function variablesEditor(textarea, onRun, nonce) {
  return attach(textarea, [json()], onRun, nonce);
}
