;;; check_snippet.el --- checks one Emacs snippet of editors/OTHER_CLIENTS.md  -*- lexical-binding: t -*-
;;
;; emacs --batch -l check_snippet.el SNIPPET.el
;;
;; Loads eglot, go-mode and lsp-mode (Debian: elpa-eglot, elpa-go-mode, elpa-lsp-mode), checks
;; that SNIPPET.el reads and byte-compiles without error, evaluates it, then prints one JSON
;; object on stdout with what an editor would do for a Go buffer:
;;   eglot_program    the program and arguments Eglot starts for go-mode (alternatives resolved
;;                    non-interactively, as eglot-ensure does)
;;   eglot_init       its :initializationOptions
;;   eglot_workspace  Eglot's answer to workspace/configuration for the section "am-lsp"
;;   lsp_add_on, lsp_activates_go, lsp_init, lsp_workspace  the same for an lsp-mode client
;;                    registered as am-lsp
;; Exits non-zero on any error.

;; No native compilation of advice trampolines (slow, and writes to ~/.emacs.d/eln-cache).
(setq native-comp-enable-subr-trampolines nil ; Emacs 29+
      comp-enable-subr-trampolines nil)       ; Emacs 28
(require 'package)
(package-initialize)
(require 'json)
(require 'eglot)
(require 'go-mode)
(require 'lsp-mode)

(defun am-check--fail (fmt &rest args)
  (let ((print-length 8) (print-level 3))
    (princ (concat (apply #'format fmt args) "\n") #'external-debugging-output))
  (kill-emacs 1))

(let* ((file (and command-line-args-left (expand-file-name (car command-line-args-left))))
       (out (make-temp-file "am-snippet" t))
       (result nil))
  (setq command-line-args-left nil)
  ;; The scratch directory goes whatever the exit (kill-emacs runs this hook, unwind forms not).
  (add-hook 'kill-emacs-hook (lambda () (delete-directory out t)))
  (unless (and file (file-readable-p file))
    (am-check--fail "usage: emacs --batch -l check_snippet.el SNIPPET.el"))
  ;; Reads: balanced parentheses and every form readable.
  (with-temp-buffer
    (insert-file-contents file)
    (emacs-lisp-mode)
    (condition-case err
        (progn
          (check-parens)
          (goto-char (point-min))
          (while (progn (forward-comment (buffer-size)) (not (eobp)))
            (read (current-buffer))))
      (error (am-check--fail "%s: does not read: %S" file err))))
  ;; Compiles.
  (let ((byte-compile-dest-file-function
         (lambda (_) (expand-file-name "snippet.elc" out))))
    (unless (byte-compile-file file)
      (am-check--fail "%s: byte-compile failed" file)))
  ;; Runs.
  (condition-case err
      (load file nil t)
    (error (am-check--fail "%s: evaluation failed: %S" file err)))
  ;; Eglot: the entry for go-mode, as eglot--guess-contact finds it.
  (let ((entry (cl-find-if (lambda (e)
                             (let ((modes (car e)))
                               (memq 'go-mode (if (listp modes) modes (list modes)))))
                           eglot-server-programs)))
    (when entry
      (let* ((contact (cdr entry))
             (contact (if (functionp contact) (funcall contact nil) contact))
             (program (cl-loop for x in contact until (keywordp x) collect x)))
        (push (cons "eglot_program" (vconcat program)) result)
        (push (cons "eglot_init" (plist-get (cl-member-if #'keywordp contact) :initializationOptions)) result))))
  (let ((ws (plist-get (eglot--workspace-configuration-plist nil) :am-lsp)))
    (when ws (push (cons "eglot_workspace" ws) result)))
  ;; lsp-mode: a client registered as am-lsp.
  (let ((client (gethash 'am-lsp lsp-clients)))
    (when client
      (let ((init (lsp--client-initialization-options client)))
        (push (cons "lsp_add_on" (if (lsp--client-add-on? client) t :json-false)) result)
        (push (cons "lsp_activates_go"
                    (with-temp-buffer
                      (setq buffer-file-name (expand-file-name "main.go" out))
                      (delay-mode-hooks (go-mode))
                      (prog1 (if (funcall (lsp--client-activation-fn client) buffer-file-name 'go-mode)
                                 t :json-false)
                        (set-buffer-modified-p nil)
                        (setq buffer-file-name nil))))
              result)
        (push (cons "lsp_init" (if (functionp init) (funcall init) init)) result)
        (push (cons "lsp_workspace"
                    (aref (lsp--build-workspace-configuration-response
                           (lsp-make-configuration-params
                            :items (vector (lsp-make-configuration-item :section "am-lsp"))))
                          0))
              result))))
  (princ (json-encode (or result (make-hash-table))))
  (terpri))

;;; check_snippet.el ends here
