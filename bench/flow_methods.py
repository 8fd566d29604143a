"""Issue 27: DIS vs dual TV-L1 optical flow on synthetic motion of known truth (translation, stretch).

Needs cv2.optflow, i.e. opencv-contrib-python-headless *instead of* opencv-python-headless; run it in a
separate environment:  python -m venv /tmp/tvl1 && /tmp/tvl1/bin/pip install "opencv-contrib-python-headless<5"
numpy && OMP_NUM_THREADS=1 /tmp/tvl1/bin/python bench/flow_methods.py
Prints, per motion, the mean end-point error over the central 64 x 64 px, the median optical strain
(the same formula as mpt_core.apex_flow.optical_strain) and the time per pair, mean over 5 textures.
"""
import time, numpy as np, cv2
def texture(h=112, w=112, seed=0):
    rng = np.random.default_rng(seed); s = cv2.GaussianBlur(rng.normal(0, 1, (h, w)), (0, 0), 3.0)
    return (128 + 100 * s / np.abs(s).max()).clip(0, 255).astype(np.uint8)
def warp(img, m): return cv2.warpAffine(img.astype(np.float32), np.float32(m), img.shape[::-1], flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT).clip(0,255).astype(np.uint8)
def strain(f):
    du_dy, du_dx = np.gradient(f[...,0].astype(np.float64)); dv_dy, dv_dx = np.gradient(f[...,1].astype(np.float64))
    return np.sqrt(du_dx**2 + dv_dy**2 + 2*(0.5*(du_dy+dv_dx))**2)
dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM); dis.setFinestScale(0)
tv = cv2.optflow.DualTVL1OpticalFlow_create()
c = 56; y, x = np.mgrid[0:112, 0:112]
cases = {"translate (1.5,-1.0) px": ([[1,0,1.5],[0,1,-1.0]], lambda: np.stack([np.full((112,112),1.5), np.full((112,112),-1.0)],-1)),
         "translate 0.3 px": ([[1,0,0.3],[0,1,0]], lambda: np.stack([np.full((112,112),0.3), np.zeros((112,112))],-1)),
         "stretch 4 % (x)": ([[1.04,0,c*(1-1.04)],[0,1,0]], lambda: np.stack([0.04/1.04*(x-c), np.zeros((112,112))],-1))}
for name, (m, truth) in cases.items():
    errs = []
    for seed in range(5):
        a = texture(seed=seed); b = warp(a, m); t = truth()
        row = []
        for meth, fn in (("dis", lambda: dis.calc(a, b, None)), ("tvl1", lambda: tv.calc(a, b, None))):
            t0 = time.perf_counter(); f = fn(); dt = time.perf_counter() - t0
            sl = (slice(24, 88), slice(24, 88))
            epe = np.hypot(*(f[sl] - t[sl]).transpose(2,0,1)).mean()
            st = np.median(strain(f)[sl])
            row.append((epe, st, dt))
        errs.append(row)
    e = np.array(errs).mean(0)
    print(f"{name:26s} DIS: EPE {e[0,0]:.3f} px, median strain {e[0,1]:.4f}, {1000*e[0,2]:.1f} ms | TV-L1: EPE {e[1,0]:.3f} px, median strain {e[1,1]:.4f}, {1000*e[1,2]:.1f} ms")
