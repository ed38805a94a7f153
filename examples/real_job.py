"""From the chapter to a real small job: scikit-learn's 8×8 digits trained as a PyTorch user would.

    python examples/real_job.py OUTDIR [--epochs 40] [--patience 8] [--fast] [--seed 0]

The chapter's network learns XOR one pattern at a time with plain gradient
descent on the SSE.  A real small job changes every part of that loop, and
this script shows each piece in minigrad's PyTorch-style API:

* data: `mg.datasets.digits()` (1,797 images, 10 classes; scikit-learn ships it
  offline), a validation split carved from the training images, and
  `mg.data.batches` for shuffled mini-batches of 32;
* model: `nn.Sequential` of `nn.Linear` layers initialised by name (He for the
  ReLU layer, Xavier for the output), `nn.ReLU`, `nn.Dropout(0.2)`;
* loss: `nn.CrossEntropyLoss` on integer labels (the logits stay linear);
* optimizer: `optim.AdamW` (decoupled weight decay), `nn.utils.clip_grad_norm_`,
  and a schedule, `optim.lr_scheduler.CosineAnnealingLR`, stepped per epoch;
* `model.train()` for the updates, `model.eval()` (dropout off) to measure;
* early stopping on the validation accuracy (``--patience`` epochs without a
  new best), keeping the best epoch's checkpoint (`nn.save_checkpoint`: the
  weights with the optimizer's and the schedule's state);
* save and resume: half way the run is saved, and the rest is trained by a
  fresh model, optimizer and scheduler loaded from that file (with the
  random generators' states, so the resumed run is the one that never stopped);
* the held-out accuracy of the best checkpoint, on images never used to choose it.

It then trains the same network with each step compiled by `mg.compile`
(forward, backward and AdamW's step in one call), with the same integer
labels (an integer input of the compiled step) and the same dropout (each
mask an input, drawn on every call), but no clipping (the step takes the
optimizer's step itself) and no resume.  Both held-out accuracies are printed and
written to real_job_summary.json in OUTDIR, with the validation curve
(real_job_curve.png).  Needs the ``digits`` extra (scikit-learn).
"""

import argparse
import json
import os
import sys
import time

import numpy as np

import minigrad as mg
from minigrad import nn, optim


def build(dropout, seed):
    """64 → 128 (ReLU, dropout) → 10 logits, and its AdamW optimizer and cosine schedule."""
    mg.manual_seed(seed)  # one seed for the initial weights (and anything else drawn from the default generator)
    model = nn.Sequential(nn.Linear(64, 128, init="he"), nn.ReLU(),
                          nn.Dropout(dropout, seed=np.random.default_rng(seed + 1)),
                          nn.Linear(128, 10, init="xavier"))
    return model


def split(train_set, fraction, seed):
    """A seeded validation split of the training images: (train inputs, labels, validation inputs, labels)."""
    order = np.random.default_rng(seed).permutation(len(train_set))
    cut = int(round(fraction * len(order)))
    held, kept = order[:cut], order[cut:]
    return train_set.inputs[kept], train_set.labels[kept], train_set.inputs[held], train_set.labels[held]


def train_eagerly(args, data, outdir):
    inputs, labels, valid_inputs, valid_labels = data
    model = build(args.dropout, args.seed)
    optimizer = optim.AdamW(model, lr=args.lr, weight_decay=1e-2)
    scheduler = optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=args.epochs)
    loss_function = nn.CrossEntropyLoss()
    batch_rng = np.random.default_rng(args.seed + 2)
    best_path, resume_path = os.path.join(outdir, "best.npz"), os.path.join(outdir, "resume.npz")
    history, best, since_best, resumed_at = [], -1.0, 0, None
    resume_epoch = max(1, args.epochs // 2)
    started = time.perf_counter()
    epoch = 0
    while epoch < args.epochs:
        model.train()
        for batch_inputs, batch_labels in mg.data.batches(inputs, labels, args.batch_size, seed=batch_rng):
            optimizer.zero_grad()
            loss = loss_function(model(batch_inputs), batch_labels)
            loss.backward()
            nn.utils.clip_grad_norm_(model, max_norm=5.0)
            optimizer.step()
        scheduler.step()
        epoch += 1
        model.eval()
        accuracy = mg.accuracy(model, valid_inputs, valid_labels)
        history.append(accuracy)
        if accuracy > best:
            best, since_best = accuracy, 0
            nn.save_checkpoint(best_path, model, optimizer, scheduler, epoch=epoch, validation_accuracy=accuracy)
        else:
            since_best += 1
        if since_best >= args.patience:
            print(f"early stop after epoch {epoch}: no better validation accuracy for {args.patience} epochs")
            break
        if epoch == resume_epoch and resumed_at is None:
            # Save everything a resumed run needs, then carry on with fresh objects loaded from the file.
            nn.save_checkpoint(resume_path, model, optimizer, scheduler, epoch=epoch, best=best,
                               since_best=since_best, history=history,
                               batch_rng=batch_rng.bit_generator.state,
                               dropout_rng=model.layers[2].generator.bit_generator.state)
            model = build(args.dropout, args.seed + 100)  # other weights: the checkpoint must replace them
            optimizer = optim.AdamW(model, lr=args.lr, weight_decay=1e-2)
            scheduler = optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=args.epochs)
            extra = nn.load_checkpoint(resume_path, model, optimizer, scheduler)
            epoch, best, since_best, history = extra["epoch"], extra["best"], extra["since_best"], extra["history"]
            batch_rng.bit_generator.state = extra["batch_rng"]
            model.layers[2].generator.bit_generator.state = extra["dropout_rng"]
            resumed_at = epoch
            print(f"saved at epoch {epoch} and resumed from {os.path.basename(resume_path)} "
                  f"(weights, AdamW's moments and steps, the schedule, the generators)")
    seconds = time.perf_counter() - started
    extra = nn.load_checkpoint(best_path, model, optimizer, scheduler)  # early stopping keeps the best epoch
    model.eval()
    return model, {"epochs_run": epoch, "best_epoch": extra["epoch"], "validation_accuracy": best,
                   "resumed_at_epoch": resumed_at, "validation_history": history, "training_seconds": seconds,
                   "final_lr": optimizer.param_groups[0]["lr"]}


def train_compiled(args, data):
    """The same network, optimizer, schedule, labels and dropout, each step compiled (no clipping)."""
    inputs, labels, valid_inputs, valid_labels = data
    model = build(args.dropout, args.seed)
    optimizer = optim.AdamW(model, lr=args.lr, weight_decay=1e-2)
    scheduler = optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=args.epochs)
    loss_function = nn.CrossEntropyLoss()
    step = mg.compile(lambda x, targets: loss_function(model(x), targets), optimizer=optimizer)
    batch_rng = np.random.default_rng(args.seed + 2)
    started = time.perf_counter()
    best, best_state, since_best, epoch = -1.0, None, 0, 0
    while epoch < args.epochs and since_best < args.patience:
        model.train()  # dropout on: the step traced in train mode, with its masks as inputs
        for batch_inputs, batch_labels in mg.data.batches(inputs, labels, args.batch_size, seed=batch_rng):
            optimizer.zero_grad()
            step(batch_inputs, batch_labels)  # forward, backward and AdamW's step
        scheduler.step()
        epoch += 1
        model.eval()
        accuracy = mg.accuracy(model, valid_inputs, valid_labels)
        if accuracy > best:
            best, best_state, since_best = accuracy, model.state_dict(), 0
        else:
            since_best += 1
    model.load_state_dict(best_state)
    return model, {"epochs_run": epoch, "validation_accuracy": best,
                   "training_seconds": time.perf_counter() - started, "traces": step.traces}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("outdir", help="folder for the checkpoints, the curve and the summary")
    parser.add_argument("--epochs", type=int, default=40, help="most passes over the training images (default 40)")
    parser.add_argument("--patience", type=int, default=8, help="epochs without a better validation accuracy "
                                                                "before stopping early (default 8)")
    parser.add_argument("--lr", type=float, default=3e-3, help="AdamW's starting learning rate (default 3e-3)")
    parser.add_argument("--dropout", type=float, default=0.2, help="dropout probability (default 0.2)")
    parser.add_argument("--batch-size", type=int, default=32, help="images per update (default 32)")
    parser.add_argument("--seed", type=int, default=0, help="seed for the split, the weights and the batches")
    parser.add_argument("--fast", action="store_true", help="8 epochs, for tests")
    args = parser.parse_args(argv)
    if args.fast:
        args.epochs = min(args.epochs, 8)
    os.makedirs(args.outdir, exist_ok=True)
    try:
        train_set, test_set = mg.datasets.digits(seed=args.seed)
    except ImportError as error:
        print(error, file=sys.stderr)
        return 2
    data = split(train_set, 0.15, args.seed)
    print(f"digits: {len(data[0])} training, {len(data[2])} validation and {len(test_set)} held-out images")

    model, eager = train_eagerly(args, data, args.outdir)
    eager["test_accuracy"] = mg.accuracy(model, test_set.inputs, test_set.labels)
    print(f"eager: best validation accuracy {eager['validation_accuracy']:.1%} at epoch {eager['best_epoch']} of "
          f"{eager['epochs_run']}; held-out accuracy {eager['test_accuracy']:.1%} "
          f"({eager['training_seconds']:.1f} s of training)")

    compiled_model, compiled = train_compiled(args, data)
    compiled["test_accuracy"] = mg.accuracy(compiled_model, test_set.inputs, test_set.labels)
    print(f"compiled (labels and dropout as inputs, no clipping): best validation accuracy {compiled['validation_accuracy']:.1%}; "
          f"held-out accuracy {compiled['test_accuracy']:.1%} ({compiled['training_seconds']:.1f} s of training)")

    from plots import plt, save  # matplotlib on the Agg backend, and how figures are written

    figure, axes = plt.subplots(figsize=(5.5, 3.4))
    axes.plot(range(1, len(eager["validation_history"]) + 1), eager["validation_history"], marker=".",
              label="validation accuracy (eager, dropout 0.2)")
    axes.axvline(eager["best_epoch"], color="gray", linestyle="--", linewidth=1, label="best epoch (kept)")
    axes.set_xlabel("epoch")
    axes.set_ylabel("accuracy")
    axes.set_title(f"digits, AdamW + cosine schedule: held-out {eager['test_accuracy']:.1%}", fontsize=10)
    save(figure, os.path.join(args.outdir, "real_job_curve.png"), axes=axes)
    with open(os.path.join(args.outdir, "real_job_summary.json"), "w") as handle:
        json.dump({"eager": eager, "compiled": compiled, "epochs": args.epochs}, handle, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
