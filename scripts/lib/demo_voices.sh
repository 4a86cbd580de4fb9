# shellcheck shell=bash disable=SC2034  # sourced: scripts/demo.sh uses the variables
# The demo's voices, made at run time with Debian's flite (sourced by scripts/demo.sh).
# flite's slt, rms and awb voices are statistical models of three real speakers (CMU ARCTIC) and
# kal16 is a diphone voice cut from a fourth, so all four sound like people, which the base model
# (trained on real speech) needs: to it, espeak-ng's formant voices sound so alike that a
# never-enrolled one gets named. mbrola's recorded voices would do too, but are not in Debian main.

# The three enrolled voices, then the one never enrolled: "name flite-voice" per entry. The one
# never enrolled is the diphone voice because slt, rms and awb share flite's vocoder, which the
# model partly hears as voice: held out, one of them scores close to the threshold.
demo_enrolled_voices=("alice slt" "bruno rms" "callum awb")
demo_unknown_voice="dmitri kal16"

# What each enrolled voice reads for enrollment, about 35 s each, written for this demo.
demo_enrollment_texts=(
  "Every morning the baker opens the shop before the sun comes up. The ovens are already warm,
and the smell of fresh bread drifts down the empty street. A cyclist stops for a roll and a cup
of coffee, then rides on toward the river. By seven o'clock there is a short queue at the door,
and the shelves fill with loaves, buns and small sweet cakes. The baker knows most of the
customers by name, and asks about their children, their gardens and the weather. On Saturdays
the queue is longer, and nobody seems to mind waiting. When the last tray is sold, the baker
sweeps the floor, counts the coins, and goes home to sleep."
  "The old lighthouse stands on a rock at the end of the harbour wall. For more than a century
its lamp turned every night, warning ships away from the reef. Today the light is automatic, and
the keeper's cottage has become a small museum. Visitors climb the narrow spiral stairs, one
hundred and twelve steps, to look out over the grey water. On a clear day you can see the islands
to the west, and the fishing boats coming home with their catch. In winter the waves break over
the wall and throw spray against the windows, and the museum closes until spring. Children like
the brass telescope best."
  "Learning to play the piano takes patience. At first the fingers feel clumsy, and even a simple
scale sounds uneven. A good teacher suggests practising slowly, a few minutes at a time, and
listening carefully to every note. After some weeks the hands begin to move on their own, and the
music starts to breathe. Many students give up too early, just before the difficult part becomes
easy. Others keep a small notebook where they write down what went well each day. Playing for
friends is frightening the first time, but it is also the moment when the effort finally makes
sense, and the room goes quiet to listen."
)

# The fresh sentence every voice says for identification: the same words from four voices, so only
# the voice can tell them apart.
demo_fresh_sentence="Please remember to close the garden gate tonight, because the neighbour's dog
keeps wandering in and digging up the young carrots and beans."

# demo_say FLITE_VOICE TEXT OUT_WAV: speaks TEXT into a 16 kHz mono WAV file.
demo_say() {
  local text=${2//$'\n'/ }
  flite -voice "$1" -t "$text" -o "$3"
}
