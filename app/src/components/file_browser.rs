//! The files list as a tree of folders you can open and close, with checkboxes on every row:
//! shift-click or Shift+arrows select ranges, Space toggles, "Select all" and the selection bar
//! ("3 selected · Share · Delete") act on many files at once. The rules are in
//! [`crate::file_tree`] and [`crate::selection`]; this renders them.

use std::collections::BTreeSet;

use ferry_api::{File, FileStatus};
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos::wasm_bindgen::JsCast;

use super::file_list::{FileAction, FileGroup, FileRow};
use super::icons;
use super::share_many::{files_text, max_share_files, too_many};
use crate::file_tree::{self, FolderRow, Row, RowKey};
use crate::format::human_size;
use crate::library::Library;
use crate::selection::{Check, Selection};

/// The selection and the rows, shared by every row of the list.
#[derive(Clone, Copy)]
struct ListState {
    rows: Memo<Vec<Row>>,
    selection: RwSignal<Selection>,
    open: RwSignal<BTreeSet<String>>,
}

impl ListState {
    /// A click (or Space) on a row's checkbox; with Shift, the range from the last one.
    fn check(&self, key: &RowKey, on: bool, range: bool) {
        let rows = self.rows.get_untracked();
        self.selection.update(|s| {
            if range {
                s.extend(&rows, key, on);
            } else if let Some(row) = rows.iter().find(|r| &r.key() == key) {
                s.toggle(row, on);
            }
        });
    }

    /// Arrow keys on a checkbox move to the next or previous row's; with Shift they select
    /// on the way.
    fn on_key(&self, ev: &web_sys::KeyboardEvent) {
        let down = match ev.key().as_str() {
            "ArrowDown" => true,
            "ArrowUp" => false,
            _ => return,
        };
        let Some(row) = ev
            .target()
            .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
            .and_then(|el| el.closest("li").ok().flatten())
        else {
            return;
        };
        let next = if down {
            row.next_element_sibling()
        } else {
            row.previous_element_sibling()
        };
        let Some(check) = next
            .and_then(|li| li.query_selector("input.row-check").ok().flatten())
            .and_then(|el| el.dyn_into::<web_sys::HtmlInputElement>().ok())
        else {
            return;
        };
        ev.prevent_default();
        let _ = check.focus();
        if ev.shift_key()
            && let Some(key) = check
                .get_attribute("data-row")
                .and_then(|a| RowKey::parse(&a))
        {
            self.check(&key, true, true);
        }
    }

    fn check_of(&self, row: &Row) -> Check {
        self.selection.with(|s| s.check_of(row.file_ids()))
    }
}

/// The files that can go behind a link (failed uploads cannot) and their total size.
fn shareable(files: &[File], ids: &[String]) -> (Vec<String>, u64) {
    let wanted: BTreeSet<&str> = ids.iter().map(String::as_str).collect();
    let mut size = 0;
    let mut out = Vec::new();
    for file in files {
        if wanted.contains(file.id.as_str()) && file.status != FileStatus::Failed {
            size += file.size;
            out.push(file.id.clone());
        }
    }
    (out, size)
}

#[component]
pub fn FileBrowser(#[prop(into)] on_action: Callback<FileAction>) -> impl IntoView {
    let library = expect_context::<Library>();
    let open = RwSignal::new(BTreeSet::<String>::new());
    let selection = RwSignal::new(Selection::default());
    let rows = Memo::new(move |_| library.files.with(|f| open.with(|o| file_tree::rows(f, o))));
    let state = ListState {
        rows,
        selection,
        open,
    };
    // Files deleted here or elsewhere leave the selection.
    Effect::new(move |_| {
        library.files.with(|files| {
            selection.update(|s| s.retain(files.iter().map(|f| f.id.as_str())));
        });
    });

    let all = Memo::new(move |_| {
        library
            .files
            .with(|files| selection.with(|s| s.check_of(files.iter().map(|f| f.id.as_str()))))
    });
    let toggle_all = move |ev: leptos::ev::Event| {
        if event_target_checked(&ev) {
            // Every file, pages not loaded yet included.
            spawn_local(async move {
                library.load_all().await;
                library.files.with_untracked(|f| {
                    selection.update(|s| s.select_all(f.iter().map(|f| f.id.as_str())))
                });
            });
        } else {
            selection.update(Selection::clear);
        }
    };
    let act_on_selection = move |share: bool| {
        let ids = selection.with_untracked(Selection::ids);
        let (ids, size) = if share {
            library.files.with_untracked(|f| shareable(f, &ids))
        } else {
            let size = library.files.with_untracked(|f| {
                f.iter()
                    .filter(|f| ids.contains(&f.id))
                    .map(|f| f.size)
                    .sum()
            });
            (ids, size)
        };
        let group = FileGroup {
            title: files_text(ids.len()),
            folder: false,
            ids,
            size,
        };
        on_action.run(if share {
            FileAction::ShareMany(group)
        } else {
            FileAction::DeleteMany(group)
        });
    };
    let max = max_share_files();
    let over_limit = move || too_many(selection.with(Selection::len), max);

    view! {
        <div class="list-tools" class:selecting=move || !selection.with(Selection::is_empty) role="region" aria-label="Selection">
            <label class="check">
                <input
                    type="checkbox"
                    prop:checked=move || all.get() == Check::On
                    prop:indeterminate=move || all.get() == Check::Mixed
                    on:change=toggle_all
                />
                <span>"Select all"</span>
            </label>
            <Show when=move || !selection.with(Selection::is_empty)>
                <span class="selection-count" aria-live="polite">
                    {move || format!("{} selected", selection.with(Selection::len))}
                </span>
                <button class="button small" disabled=move || over_limit().is_some() on:click=move |_| act_on_selection(true)>
                    {icons::share()} "Share" <span class="sr-only">" the selected files"</span>
                </button>
                <button class="button small danger-ghost" on:click=move |_| act_on_selection(false)>
                    {icons::trash()} "Delete" <span class="sr-only">" the selected files"</span>
                </button>
                <button class="button small ghost" on:click=move |_| selection.update(Selection::clear)>
                    "Clear selection"
                </button>
                <Show when=move || over_limit().is_some()>
                    <p class="selection-note" role="status">{over_limit}</p>
                </Show>
            </Show>
        </div>
        <ul class="file-list" aria-label="Files">
            <For
                each=move || rows.get()
                key=|row| match row {
                    // A folder row stays as it opens, closes or grows, so focus stays on it.
                    Row::Folder(f) => (format!("d:{}:{}", f.path, f.depth), 0, 0),
                    // An encrypted file's row is drawn again once its name is open.
                    Row::File { file, depth } => (
                        format!("f:{}:{depth}:{}", file.id, file.name),
                        file.status as u64,
                        u64::from(file.thumbnail_url.is_some()),
                    ),
                }
                let:row
            >
                {match row {
                    Row::Folder(folder) => view! { <FolderItem folder state on_action/> }.into_any(),
                    Row::File { file, depth } => {
                        let key = RowKey::File(file.id.clone());
                        let label = format!("Select {}", ferry_api::paths::join(file.folder.as_deref(), &file.name));
                        let row = Row::File { file: file.clone(), depth };
                        let locked = library.sealed.with_value(|names| names.is_locked(&file));
                        view! {
                            <FileRow file=*file on_action depth locked>
                                <RowCheck key label check=Signal::derive(move || state.check_of(&row)) state/>
                            </FileRow>
                        }
                        .into_any()
                    }
                }}
            </For>
        </ul>
    }
}

/// A row's checkbox: Space toggles, Shift+click and Shift+arrows make ranges.
#[component]
fn RowCheck(key: RowKey, label: String, check: Signal<Check>, state: ListState) -> impl IntoView {
    let attr = key.to_attr();
    let key = StoredValue::new(key);
    view! {
        <input
            type="checkbox"
            class="row-check"
            aria-label=label
            data-row=attr
            prop:checked=move || check.get() == Check::On
            prop:indeterminate=move || check.get() == Check::Mixed
            on:click=move |ev| {
                let on = event_target_checked(&ev);
                state.check(&key.get_value(), on, ev.shift_key());
            }
            on:keydown=move |ev| state.on_key(&ev)
        />
    }
}

#[component]
fn FolderItem(
    folder: FolderRow,
    state: ListState,
    on_action: Callback<FileAction>,
) -> impl IntoView {
    let library = expect_context::<Library>();
    let path = folder.path.clone();
    let key = RowKey::Folder(path.clone());
    // What the row shows now (it is kept while files arrive and while it opens and closes).
    let current = {
        let key = key.clone();
        Memo::new(move |_| {
            state.rows.with(|rows| {
                rows.iter().find(|r| r.key() == key).and_then(|r| match r {
                    Row::Folder(f) => Some(f.clone()),
                    Row::File { .. } => None,
                })
            })
        })
    };
    let open = move || current.with(|f| f.as_ref().is_some_and(|f| f.open));
    let toggle = {
        let path = path.clone();
        move |_| {
            state.open.update(|open| {
                if !open.remove(&path) {
                    open.insert(path.clone());
                }
            })
        }
    };
    let title = StoredValue::new(format!("“{}”", folder.name));
    let folder_path = StoredValue::new(path.clone());
    // Every file of the folder, pages not loaded yet included.
    let act = move |share: bool| {
        spawn_local(async move {
            library.load_all().await;
            let path = folder_path.get_value();
            let (ids, size) = library.files.with_untracked(|files| {
                let below = file_tree::files_under(files, &path);
                let ids: Vec<String> = below.iter().map(|f| f.id.clone()).collect();
                if share {
                    shareable(files, &ids)
                } else {
                    (ids, below.iter().map(|f| f.size).sum())
                }
            });
            let group = FileGroup {
                title: title.get_value(),
                folder: true,
                ids,
                size,
            };
            on_action.run(if share {
                FileAction::ShareMany(group)
            } else {
                FileAction::DeleteMany(group)
            });
        });
    };
    let check = Signal::derive(move || {
        current.with(|f| {
            f.as_ref()
                .map(|f| {
                    state
                        .selection
                        .with(|s| s.check_of(f.file_ids.iter().map(String::as_str)))
                })
                .unwrap_or(Check::Off)
        })
    });
    let meta = move || {
        current.with(|f| {
            f.as_ref()
                .map(|f| {
                    format!(
                        "{} · {}",
                        files_text(f.file_count),
                        human_size(f.total_size)
                    )
                })
                .unwrap_or_default()
        })
    };
    let name = folder.name.clone();
    view! {
        <li class="file-row folder-row" class:nested={folder.depth > 0} style=format!("--depth: {}", folder.depth)>
            <RowCheck key label=format!("Select folder {path}") check state/>
            <span class="thumb badge folder" aria-hidden="true">{icons::folder()}</span>
            <div class="file-main">
                <button
                    class="folder-toggle"
                    type="button"
                    aria-expanded=move || open().to_string()
                    on:click=toggle
                >
                    <span class="chevron" class:open=open>{icons::chevron()}</span>
                    <span class="file-name">{name.clone()}</span>
                </button>
                <span class="file-meta">{meta}</span>
            </div>
            <div class="file-actions">
                <button class="button small" on:click=move |_| act(true)>
                    {icons::share()} <span class="label">"Share"</span>
                    <span class="sr-only">" folder " {name.clone()}</span>
                </button>
                <button class="button small danger-ghost" on:click=move |_| act(false)>
                    {icons::trash()} <span class="label">"Delete"</span>
                    <span class="sr-only">" folder " {name.clone()}</span>
                </button>
            </div>
        </li>
    }
}
