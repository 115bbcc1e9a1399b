/**
 * Transfers from the signed-in app: a whole folder in (picked, and dropped), one link for all of
 * it while it still uploads, the folder tree, a selection of files behind one link, a folder
 * deleted, and the links page naming links of many files.
 *
 * What a link covers is checked from a fresh context with no session, on the recipients' page
 * (every path listed, "Download all" checked by Python's zipfile against the originals) and
 * through the public API that page reads (`POST /api/public/shares/{token}/files`).
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";

import type { APIRequestContext, Page } from "@playwright/test";

import { capture, expect, expectReady, progressSeen, randomFile, recordProgress, signUp, stackEnv, test, tmpFile } from "./fixtures";
import { MiB } from "../limits";

type PublicFile = { id: string; name: string; folder?: string; size: number; status: string };

/** Every file a link lists (all pages), as `folder/name` paths with their status. */
async function linkedFiles(request: APIRequestContext, url: string): Promise<Map<string, PublicFile>> {
  const token = new URL(url).pathname.split("/").pop();
  const files = new Map<string, PublicFile>();
  let cursor: string | undefined;
  do {
    const response = await request.post(`/api/public/shares/${token}/files`, { data: cursor ? { cursor } : {} });
    expect(response.status()).toBe(200);
    const page = (await response.json()) as { items: PublicFile[]; next_cursor?: string };
    for (const file of page.items) files.set(file.folder ? `${file.folder}/${file.name}` : file.name, file);
    cursor = page.next_cursor;
  } while (cursor);
  return files;
}

/**
 * A folder on disk: `files` (relative path → size) with random bytes, plus empty folders.
 * Returns each file's SHA-256 (hex) by its path from the folder's parent (`Ferien/a/b.txt`).
 */
function makeFolder(root: string, files: Record<string, number>, emptyDirs: string[]): Map<string, string> {
  fs.rmSync(root, { recursive: true, force: true });
  const hashes = new Map<string, string>();
  for (const [relative, size] of Object.entries(files)) {
    const target = path.join(root, relative);
    fs.mkdirSync(path.dirname(target), { recursive: true });
    const made = randomFile(`${path.basename(root)}-${relative.replaceAll("/", "_")}`, size);
    fs.renameSync(made.path, target);
    hashes.set(`${path.basename(root)}/${relative}`, made.sha256);
  }
  for (const dir of emptyDirs) fs.mkdirSync(path.join(root, dir), { recursive: true });
  return hashes;
}

/** A ZIP read by Python's zipfile: whether every CRC checks, and each entry's path → SHA-256. */
function zipContents(zip: string): { bad: string | null; entries: Record<string, string> } {
  const script = [
    "import hashlib, json, sys, zipfile",
    "with zipfile.ZipFile(sys.argv[1]) as z:",
    "    bad = z.testzip()",
    "    entries = {i.filename: hashlib.sha256(z.read(i)).hexdigest() for i in z.infolist() if not i.is_dir()}",
    "print(json.dumps({'bad': bad, 'entries': entries}))",
  ].join("\n");
  return JSON.parse(execFileSync("python3", ["-c", script, zip], { encoding: "utf8", maxBuffer: 1 << 20 }));
}

/** Opens (or closes) a folder of the files tree from the keyboard. */
async function toggleFolder(page: Page, name: string, open: boolean): Promise<void> {
  const toggle = page.getByRole("list", { name: "Files" }).getByRole("button", { name, exact: true });
  await expect(toggle).toHaveAttribute("aria-expanded", String(!open));
  await toggle.focus();
  await page.keyboard.press("Enter");
  await expect(toggle).toHaveAttribute("aria-expanded", String(open));
  await expect(toggle, "focus stays on the folder").toBeFocused();
}

test("a folder three levels deep goes up with its paths, one link covers it while it uploads, and three selected files get a link of their own", async ({ page, visitorContext }) => {
  test.setTimeout(240_000);
  await signUp(page, "folder");

  // Ferien/ with 21 small files over three levels, non-ASCII names, a 100 MiB file (sent in
  // parts), two system files and an empty folder.
  const root = path.join(stackEnv("FERRY_E2E_TMP"), "Ferien");
  const files: Record<string, number> = {
    "Fotos/2026/Čížek ü.jpg": 70_000,
    "Fotos/2026/Straße am Meer.jpg": 40_000,
    "Notizen.txt": 1_200,
    "Video/Tag 1 — Ankunft.bin": 100 * MiB,
    "Dokumente/Reise/Plan (final).pdf": 30_000,
    "Dokumente/Reise/Tickets ünd Zeiten.csv": 2_000,
  };
  for (let i = 1; i <= 8; i++) files[`Fotos/2026/img-${String(i).padStart(2, "0")}.jpg`] = 10_000 + i;
  for (let i = 1; i <= 7; i++) files[`Fotos/2025/alt-${i}.jpg`] = 5_000 + i;
  const clutter = { "desktop.ini": 282, "Fotos/Thumbs.db": 1_024 };
  const originals = makeFolder(root, files, ["Leer/auch leer"]);
  for (const [relative, size] of Object.entries(clutter)) fs.writeFileSync(path.join(root, relative), Buffer.alloc(size));
  const expected = Object.keys(files).map((p) => `Ferien/${p}`).sort();
  expect(expected.length).toBeGreaterThanOrEqual(20);

  // "Upload a folder" opens the folder picker, from the keyboard too.
  await recordProgress(page);
  const chooser = page.waitForEvent("filechooser");
  await page.getByRole("button", { name: "Upload a folder" }).focus();
  await page.keyboard.press("Enter");
  await (await chooser).setFiles(root);
  await expect(page.getByRole("status").filter({ hasText: "Skipped 2 system files" })).toBeVisible();
  // Each upload goes by its path in the folder.
  await expect.poll(async () => Object.keys(await progressSeen(page)).length, { timeout: 30_000 }).toBe(expected.length);
  expect(Object.keys(await progressSeen(page)).sort()).toEqual(expected.map((p) => `Upload of ${p}`));

  // One step shares everything just added, while the big file is still on its way.
  const step = page.getByRole("region", { name: "Share what you added" });
  await expect(step).toContainText("“Ferien” added");
  const shareAll = step.getByRole("button", { name: `Share these ${expected.length} files` });
  await expect(shareAll).toBeVisible();
  await capture(page, "files-folder-uploading");
  await shareAll.click();
  const dialog = page.getByRole("dialog", { name: "Share “Ferien”" });
  await expect(dialog).toContainText("Download all counts as one download; each single file counts as one.");
  await capture(page, "share-many-dialog");
  await dialog.getByRole("button", { name: "Create link" }).click();
  const link = dialog.getByRole("textbox", { name: "Share link" });
  await expect(link).toHaveValue(/\/s\/[A-Za-z0-9_-]+$/, { timeout: 60_000 });
  const folderUrl = await link.inputValue();
  await expect(dialog).toContainText(`${expected.length} files`);
  await dialog.getByRole("button", { name: "Done" }).click();

  // Someone with only the link sees every file with its path, some perhaps still arriving.
  const visitor = await visitorContext();
  const listed = await linkedFiles(visitor.request, folderUrl);
  expect([...listed.keys()].sort()).toEqual(expected);
  expect(listed.get("Ferien/Video/Tag 1 — Ankunft.bin")?.size).toBe(100 * MiB);

  // The files page shows the tree: the folder closed, with its count and size; opened from the
  // keyboard, level by level.
  const list = page.getByRole("list", { name: "Files" });
  const ferien = list.getByRole("listitem").filter({ has: page.getByRole("button", { name: "Ferien", exact: true }) });
  await expect(ferien).toContainText(`${expected.length} files · 100`);
  await toggleFolder(page, "Ferien", true);
  await toggleFolder(page, "Fotos", true);
  await toggleFolder(page, "2026", true);
  await toggleFolder(page, "Video", true);
  await expectReady(page, "Čížek ü.jpg");
  await expectReady(page, "Tag 1 — Ankunft.bin", 120_000);
  await expect.poll(async () => [...(await linkedFiles(visitor.request, folderUrl)).values()].every((f) => f.status === "ready"), { timeout: 60_000 }).toBe(true);
  await capture(page, "files-folder-tree");

  // The recipients' page lists every file under its folder; "Download all" is one ZIP with
  // every path and every byte.
  const recipient = await visitor.newPage();
  await recipient.goto(folderUrl);
  await expect(recipient.getByRole("heading", { level: 1, name: new RegExp(`^${expected.length} files · 100`) })).toBeVisible();
  for (const folder of ["Ferien", "Ferien/Fotos/2025", "Ferien/Fotos/2026", "Ferien/Video", "Ferien/Dokumente/Reise"]) {
    await expect(recipient.getByRole("heading", { level: 2, name: folder, exact: true })).toBeVisible();
  }
  for (const p of expected) {
    await expect(recipient.getByRole("button", { name: `Download ${path.basename(p)}`, exact: true })).toBeVisible();
  }
  const zipping = recipient.waitForEvent("download");
  await recipient.getByRole("button", { name: "Download all (ZIP)" }).click();
  const zip = tmpFile("Ferien-all.zip");
  await (await zipping).saveAs(zip);
  const read = zipContents(zip);
  expect(read.bad, "every CRC in the ZIP checks").toBeNull();
  expect(new Map(Object.entries(read.entries))).toEqual(originals);
  fs.rmSync(zip);

  // Three files selected with the mouse: a click, then a shift-click for the range.
  const check = (p: string) => page.getByRole("checkbox", { name: `Select Ferien/${p}`, exact: true });
  await check("Fotos/2026/img-01.jpg").click();
  await check("Fotos/2026/img-03.jpg").click({ modifiers: ["Shift"] });
  const bar = page.getByRole("region", { name: "Selection" });
  await expect(bar).toContainText("3 selected");
  await expect(check("Fotos/2026/img-02.jpg")).toBeChecked();
  await bar.getByRole("button", { name: "Clear selection" }).focus();
  await page.keyboard.press("Enter");
  await expect(bar).not.toContainText("selected");

  // And with the keyboard only: Space ticks, Shift+ArrowDown stretches the range, Space on
  // the last one shrinks it again.
  await check("Fotos/2026/img-01.jpg").focus();
  await page.keyboard.press("Space");
  await page.keyboard.press("Shift+ArrowDown");
  await page.keyboard.press("Shift+ArrowDown");
  await expect(check("Fotos/2026/img-03.jpg")).toBeFocused();
  await expect(bar).toContainText("3 selected");
  await page.keyboard.press("Shift+ArrowDown");
  await expect(check("Fotos/2026/img-04.jpg")).toBeFocused();
  await expect(bar).toContainText("4 selected");
  await page.keyboard.press("Space");
  await expect(bar).toContainText("3 selected");
  await expect(check("Fotos/2026/img-04.jpg")).not.toBeChecked();
  // The folder's box reads "some".
  expect(await page.getByRole("checkbox", { name: "Select folder Ferien/Fotos/2026" }).evaluate((el) => (el as HTMLInputElement).indeterminate)).toBe(true);
  await capture(page, "files-selection");

  await bar.getByRole("button", { name: "Share the selected files" }).focus();
  await page.keyboard.press("Enter");
  const selectionDialog = page.getByRole("dialog", { name: "Share 3 files" });
  await expect(selectionDialog).toContainText("Download all counts as one download; each single file counts as one.");
  await selectionDialog.getByLabel("Password").focus();
  await page.keyboard.press("Enter");
  const selectionLink = selectionDialog.getByRole("textbox", { name: "Share link" });
  await expect(selectionLink).toHaveValue(/\/s\//);
  const selectionUrl = await selectionLink.inputValue();
  await capture(page, "share-many-link");
  await selectionDialog.getByRole("button", { name: "Done" }).click();
  expect([...(await linkedFiles(visitor.request, selectionUrl)).keys()].sort()).toEqual([
    "Ferien/Fotos/2026/img-01.jpg",
    "Ferien/Fotos/2026/img-02.jpg",
    "Ferien/Fotos/2026/img-03.jpg",
  ]);
  await recipient.goto(selectionUrl);
  await expect(recipient.getByRole("heading", { level: 1, name: /^3 files · / })).toBeVisible();
  await expect(recipient.getByRole("heading", { level: 2, name: "Ferien/Fotos/2026", exact: true })).toBeVisible();
  const perFile = recipient.getByRole("button", { name: /^Download (?!all)/ });
  await expect(perFile).toHaveCount(3);
  for (const [i, name] of ["img-01.jpg", "img-02.jpg", "img-03.jpg"].entries()) {
    await expect(perFile.nth(i)).toHaveAccessibleName(`Download ${name}`);
  }

  // A whole folder deleted, after a confirmation: its files leave the tree and the big link.
  await list.getByRole("button", { name: "Delete folder 2025" }).click();
  const confirm = page.getByRole("dialog", { name: "Delete the folder “2025”?" });
  await expect(confirm).toContainText("7 files");
  await capture(page, "files-delete-folder");
  await confirm.getByRole("button", { name: "Delete" }).click();
  await expect(confirm).toBeHidden();
  await expect(list.getByRole("button", { name: "2025", exact: true })).toHaveCount(0);
  await expect(ferien).toContainText(`${expected.length - 7} files`);
  expect((await linkedFiles(visitor.request, folderUrl)).size).toBe(expected.length - 7);

  // The links page names links of many files by their first file and the rest.
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "My links" }).click();
  const links = page.getByRole("list", { name: "Share links" });
  await expect(links.getByRole("listitem").filter({ hasText: `and ${expected.length - 8} more` })).toContainText(`${expected.length - 7} files`);
  await expect(links.getByRole("listitem").filter({ hasText: /img-0[123]\.jpg and 2 more/ })).toContainText("3 files");
  await capture(page, "links-many-files");
});

test("a dropped folder is read page by page: paths kept, clutter and empty folders left out, and a path the server refuses fails alone", async ({ page, guard }) => {
  // The refusal is the API's answer (400 invalid_path); the browser logs it.
  guard.allow(/Failed to load resource: the server responded with a status of 400\b.* @ .*\/api\/uploads/);
  await signUp(page, "drop-folder");

  // A drop of a folder as Chromium hands it over: entries whose readers give out a few
  // entries per call until an empty page. One file sits 33 folders deep, past the limit.
  const deep = Array.from({ length: 33 }, (_, i) => `d${i}`).join("/");
  const dropped = ["Album/a.txt", "Album/b.txt", "Album/Unter/c ü.txt", "Album/Unter/.DS_Store", "Album/Unter/d.txt", `Album/${deep}/tief.txt`];
  const zone = page.getByRole("button", { name: /Drop files/ });
  await zone.evaluate((el, paths) => {
    type Node = { dirs: Map<string, Node>; files: string[] };
    const root: Node = { dirs: new Map(), files: [] };
    for (const p of paths) {
      const parts = p.split("/");
      const name = parts.pop() as string;
      let node = root;
      for (const part of parts) {
        if (!node.dirs.has(part)) node.dirs.set(part, { dirs: new Map(), files: [] });
        node = node.dirs.get(part) as Node;
      }
      node.files.push(name);
    }
    root.dirs.get("Album")?.dirs.set("Leer", { dirs: new Map(), files: [] });
    const entry = (fullPath: string, node: Node | null): unknown => {
      const name = fullPath.split("/").pop() as string;
      if (!node) {
        return {
          isFile: true,
          isDirectory: false,
          fullPath,
          file: (ok: (f: File) => void) => setTimeout(() => ok(new File([`bytes of ${fullPath}`], name, { type: "text/plain" }))),
        };
      }
      const children = [
        ...[...node.dirs].map(([n, child]) => entry(`${fullPath}/${n}`, child)),
        ...node.files.map((n) => entry(`${fullPath}/${n}`, null)),
      ];
      return {
        isFile: false,
        isDirectory: true,
        fullPath,
        createReader: () => {
          let at = 0;
          // Two entries a call, then an empty page: the reader must be asked until it is empty.
          return { readEntries: (ok: (e: unknown[]) => void) => setTimeout(() => ok(children.slice(at, (at += 2)))) };
        },
      };
    };
    const top = entry("/Album", root.dirs.get("Album") as Node);
    const dataTransfer = {
      items: Object.assign([{ kind: "file", webkitGetAsEntry: () => top }], {}),
      files: [],
      types: ["Files"],
      dropEffect: "copy",
    };
    const drop = new DragEvent("drop", { bubbles: true, cancelable: true });
    Object.defineProperty(drop, "dataTransfer", { value: dataTransfer });
    el.dispatchEvent(drop);
  }, dropped);

  await expect(page.getByRole("status").filter({ hasText: "Skipped 1 system file" })).toBeVisible();
  const panel = page.getByRole("region", { name: "Uploads", exact: true });
  const refused = panel.getByRole("listitem").filter({ hasText: "tief.txt" });
  await expect(refused).toContainText("Folder path not allowed");
  await expect(refused.getByRole("button", { name: /Retry/ })).toHaveCount(0);

  const list = page.getByRole("list", { name: "Files" });
  await toggleFolder(page, "Album", true);
  await toggleFolder(page, "Unter", true);
  for (const name of ["a.txt", "b.txt", "c ü.txt", "d.txt"]) await expectReady(page, name);
  await expect(list.getByRole("button", { name: "Leer", exact: true })).toHaveCount(0);
  await expect(list.getByRole("listitem").filter({ has: page.getByRole("button", { name: "Album", exact: true }) })).toContainText("4 files");
  await expect(list).not.toContainText(".DS_Store");
  await expect(list).not.toContainText("tief.txt");
});

test("a file of a folder paused, the page reloaded, and the folder picked again: it resumes in its folder", async ({ page }) => {
  test.setTimeout(180_000);
  await signUp(page, "folder-resume");
  const root = path.join(stackEnv("FERRY_E2E_TMP"), "Reise");
  makeFolder(root, { "Film/Ankunft ü.bin": 100 * MiB }, []);
  const shown = "Reise/Film/Ankunft ü.bin";

  // Storage takes two parts; the rest are held until the upload is paused (they are dropped then).
  let allowed = 2;
  const stored: Promise<unknown>[] = [];
  await page.route(/partNumber=/, async (route) => {
    if (route.request().method() !== "PUT") return route.continue();
    if (allowed <= 0) return; // held: the pause aborts it
    allowed -= 1;
    stored.push(route.continue());
  });
  const pick = async () => {
    const chooser = page.waitForEvent("filechooser");
    await page.getByRole("button", { name: "Upload a folder" }).click();
    await (await chooser).setFiles(root);
  };
  await pick();
  const panel = page.getByRole("region", { name: "Uploads", exact: true });
  const row = panel.getByRole("listitem").filter({ hasText: shown });
  await expect.poll(() => stored.length, { timeout: 60_000 }).toBe(2);
  await Promise.all(stored);
  await row.getByRole("button", { name: `Pause upload of ${shown}` }).click();
  await expect(row).toContainText("Paused");
  await page.unrouteAll({ behavior: "ignoreErrors" });

  await page.reload();
  const unfinished = page.getByRole("region", { name: "Unfinished uploads" });
  await expect(unfinished).toContainText(shown);

  await pick();
  await expect(row).toContainText(/Resuming — \d+ of \d+ parts already uploaded/);
  await expect(unfinished).toBeHidden();
  await expect(row).toContainText(/Uploaded ·/, { timeout: 120_000 });
  await toggleFolder(page, "Reise", true);
  await toggleFolder(page, "Film", true);
  await expectReady(page, "Ankunft ü.bin", 60_000);
  const list = page.getByRole("list", { name: "Files" });
  await expect(list.getByRole("listitem").filter({ has: page.getByRole("button", { name: "Reise", exact: true }) })).toContainText("1 file · 100 MiB");
});
