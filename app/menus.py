"""The window's menu bar and keyboard shortcuts, in each platform's convention (Cmd on macOS, Ctrl
elsewhere; Redo is Ctrl+Y on Windows, Shift+Z elsewhere). Every entry calls an action of the window
(app.gui.DigitApp); nothing is decided here.
"""

import tkinter as tk

from app import corrections

ZOOM_IN, ZOOM_OUT = 1, -1
BRUSH_STEP = 2  # pixels per [ or ] press


def platform_keys(aqua, platform):
    """(Tk modifier, the modifier's name in menus, Redo's accelerator) on this platform."""
    mod, key = ("Command", "Cmd") if aqua else ("Control", "Ctrl")
    redo = "Ctrl+Y" if platform == "win32" else f"{key}+Shift+Z"
    return mod, key, redo


def key_names(letter):
    """The Tk key names that one shortcut answers to: both cases of a letter, else the name itself."""
    return {letter, letter.upper()} if len(letter) == 1 else {letter}


def build_menus(window, title, platform):
    """File, Edit, View and Help on `window`'s root; returns (menubar, {label: menu}, the Edit index of
    the corrections entry)."""
    root = window.root
    _mod, key, redo_key = platform_keys(window.aqua, platform)
    menubar = tk.Menu(root)
    menus = {}

    def menu(label):
        m = tk.Menu(menubar, tearoff=False)
        menubar.add_cascade(label=label, menu=m, underline=0)
        menus[label] = m
        return m

    file = menu("File")
    file.add_command(label="Open…", accelerator=f"{key}+O", command=window.open_image, underline=0)
    file.add_command(label="Save drawing as PNG…", accelerator=f"{key}+S", command=window.save_drawing,
                     underline=0)
    if not window.aqua:  # macOS has Quit in the application menu
        file.add_separator()
        file.add_command(label="Quit", accelerator=f"{key}+Q", command=window.quit, underline=0)
    edit = menu("Edit")
    edit.add_command(label="Undo", accelerator=f"{key}+Z", command=window.undo, underline=0)
    edit.add_command(label="Redo", accelerator=redo_key, command=window.redo, underline=0)
    edit.add_separator()
    edit.add_command(label="Copy number", accelerator=f"{key}+C", command=window.copy_number, underline=0)
    edit.add_command(label="Clear", accelerator="Esc", command=window.clear, underline=1)
    edit.add_separator()
    state = "normal" if window.memory.enabled else "disabled"
    edit.add_command(label="Correct this digit…", accelerator=f"{key}+K", command=window.ask_correction,
                     underline=1, state=state)
    edit.add_command(label=corrections.menu_label(window.memory.count()), command=window.forget_corrections,
                     state=state)
    corrections_entry = edit.index("end")
    view = menu("View")
    view.add_command(label="Thinner brush", accelerator="[",
                     command=lambda: window.set_brush(window.brush_width - BRUSH_STEP))
    view.add_command(label="Thicker brush", accelerator="]",
                     command=lambda: window.set_brush(window.brush_width + BRUSH_STEP))
    view.add_separator()
    view.add_command(label="Zoom in", accelerator=f"{key}++", command=lambda: window.step_zoom(ZOOM_IN))
    view.add_command(label="Zoom out", accelerator=f"{key}+-", command=lambda: window.step_zoom(ZOOM_OUT))
    view.add_command(label="Actual size", accelerator=f"{key}+0", command=lambda: window.set_zoom(1.0))
    view.add_separator()
    view.add_checkbutton(label="Why? (ink for and against)", accelerator=f"{key}+E", variable=window.why_var,
                         command=lambda: window.show(window.reading, keep_selection=True), underline=0)
    help_ = menu("Help")
    help_.add_command(label=f"About {title}", command=window.show_about, underline=0)
    if window.aqua:
        root.createcommand("tk::mac::ShowAbout", window.show_about)
        root.createcommand("tk::mac::Quit", window.quit)
    root.configure(menu=menubar)
    return menubar, menus, corrections_entry


def bind_keys(window, platform):
    """The shortcuts of the menus, and the keys without a menu entry (Delete, BackSpace, arrows)."""
    root = window.root
    mod = platform_keys(window.aqua, platform)[0]
    root.bind("<Escape>", lambda _e: window.cancel_read() if window.busy else window.clear())
    root.bind("<Delete>", lambda _e: window.clear())
    shortcuts = {
        "z": window.undo, "y": window.redo, "o": window.open_image, "s": window.save_drawing,
        "c": window.copy_number, "q": window.quit, "0": lambda: window.set_zoom(1.0),
        "plus": lambda: window.step_zoom(ZOOM_IN), "equal": lambda: window.step_zoom(ZOOM_IN),
        "minus": lambda: window.step_zoom(ZOOM_OUT), "k": window.ask_correction, "e": window.toggle_why,
    }
    for letter, action in shortcuts.items():
        for name in key_names(letter):
            root.bind(f"<{mod}-{name}>", lambda _e, a=action: a() or "break")
    root.bind(f"<{mod}-Shift-Z>", lambda _e: window.redo())
    root.bind(f"<{mod}-Shift-z>", lambda _e: window.redo())
    root.bind("<BackSpace>", lambda _e: window.undo())
    for key, step in (("<bracketleft>", -BRUSH_STEP), ("<minus>", -BRUSH_STEP),
                      ("<bracketright>", BRUSH_STEP), ("<plus>", BRUSH_STEP)):
        root.bind(key, lambda _e, s=step: window.set_brush(window.brush_width + s))
    root.bind("<Left>", lambda _e: window.step_pick(-1))
    root.bind("<Right>", lambda _e: window.step_pick(1))
